#!/usr/bin/env python3
"""Per-layer times of onyx and onnxruntime side by side, to find the layers where one loses.

    python3 benchmarks/layers.py MODEL.onnx [--threads 1] [--seconds 10] [--top 0]

Onyx's times are `onyx bench --profile` (median per step); onnxruntime's come from its profiler
(median per node, `enable_profiling`), which adds a few microseconds per node. The two graphs differ
after optimisation (onnxruntime inserts layout reorders and copies for Concat, onyx fuses more), so
steps are paired in graph order by output shape, after onnxruntime's nodes are regrouped as onyx's
steps (`regroup`: its SiLU nodes added to the convolution before them, its squeeze-and-excitation nodes
taken as one): each onyx step takes, among the next few unpaired onnxruntime nodes with its output
shape, the one with the nearest FLOP count (onyx's GFLOP/s times its time; the weight's shape on
onnxruntime's side), else the first. Unpaired nodes are summed at the end.
The two runtimes are timed one after the other, not interleaved: compare ratios between layers of one
run, and use compare.py for whole-model ratios.
"""
import argparse
import collections
import json
import math
import re
import signal
import statistics
import subprocess
import time
from pathlib import Path

import onnxruntime as ort

from compare import ort_feeds

# onnxruntime's layout conversions, which no onyx step corresponds to.
LAYOUT_OPS = {"ReorderInput", "ReorderOutput"}
# Activations onnxruntime leaves as nodes after a convolution (see `regroup`).
FOLDED_OPS = {"QuickGelu"}
# How many onnxruntime nodes ahead a step looks for its pair.
WINDOW = 6
ONYX = Path(__file__).resolve().parents[1] / ".build" / "release" / "onyx"
# A step line of `onyx bench --profile`: step, op, output shape, median ms, %, GFLOP/s (for layers
# that count them), kernel.
STEP = re.compile(r"\s*(\d+)\s+(\S+)\s+(\[[^\]]*\])\s+([\d.]+)\s+[\d.]+\s+(?:([\d.]+)\s)?")


def onyx_steps(model, threads, seconds):
    """[(step, op, output shape, ms, flops or None)] in graph order."""
    out = subprocess.run([str(ONYX), "bench", str(model), "--threads", str(threads), "--seconds", str(seconds), "--profile"],
                         capture_output=True, text=True, check=True).stdout
    steps = [(int(m[1]), m[2], json.loads(m[3]), float(m[4]), float(m[5]) * float(m[4]) * 1e6 if m[5] else None)
             for m in map(STEP.match, out.splitlines()) if m]
    return sorted(steps)


def ort_nodes(model, threads, seconds):
    """[(node name, op, output shape, ms, flops or None)] in execution order."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    feeds = ort_feeds(session)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        session.run(None, feeds)
    profile = Path(session.end_profiling())
    events = json.loads(profile.read_text())
    profile.unlink()
    times, info = collections.defaultdict(list), {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            name = e["name"][: -len("_kernel_time")]
            times[name].append(e["dur"] / 1000)
            outputs = [next(iter(d.values())) for d in e["args"].get("output_type_shape", [])]
            inputs = [next(iter(d.values())) for d in e["args"].get("input_type_shape", [])]
            # A convolution's multiply-adds: its weight's elements times the output's pixels.
            flops = (2 * math.prod(inputs[1]) * math.prod(outputs[0][2:])
                     if len(inputs) > 1 and len(inputs[1]) == 4 and outputs and len(outputs[0]) == 4 else None)
            info.setdefault(name, (e["args"].get("op_name", "?"), outputs[0] if outputs else [], flops))
    nodes = [(name, *info[name][:2], statistics.median(times[name]), info[name][2]) for name in info]
    return regroup(nodes)


def regroup(nodes):
    """onnxruntime's nodes regrouped as onyx's steps, so that they pair:
    - an activation node after a node of the same output shape is added to it: onnxruntime runs SiLU as
      a node of its own (`QuickGelu`) after the convolution, where onyx fuses it (EfficientNet-B0);
    - a squeeze-and-excitation block (GlobalAveragePool, nodes on 1x1 planes, then the Mul that scales
      the input) becomes one node, as onyx's SqueezeExcite step."""
    folded, k = [], 0
    while k < len(nodes):
        node = nodes[k]
        if node[1] in FOLDED_OPS and folded and folded[-1][2] == node[2]:
            name, op, shape, ms, flops = folded[-1]
            folded[-1] = (name, op, shape, ms + node[3], flops)
        elif node[1] == "GlobalAveragePool":
            # The block's layout conversions (in whatever order the profile lists them) stay apart.
            end = k + 1
            while end < len(nodes) and (nodes[end][2][2:] == [1, 1] or nodes[end][1] in LAYOUT_OPS):
                end += 1
            if end < len(nodes) and nodes[end][1] == "Mul":
                block = [n for n in nodes[k : end + 1] if n[1] not in LAYOUT_OPS or n[2][2:] == [1, 1]]
                folded += [n for n in nodes[k:end] if n not in block]
                folded.append((nodes[end][0], "SqueezeExcite", nodes[end][2], sum(n[3] for n in block), None))
                k = end
            else:
                folded.append(node)
        else:
            folded.append(node)
        k += 1
    return folded


def same_shape(ours, theirs):
    """Equal shapes, or onnxruntime's channel-blocked output of a layer whose channels it rounded up to
    whole blocks of 8 (SqueezeNet's 10-class classifier: 16 channels)."""
    if ours == theirs:
        return True
    return (len(ours) == len(theirs) >= 2 and ours[:1] + ours[2:] == theirs[:1] + theirs[2:]
            and theirs[1] % 8 == 0 and 0 < theirs[1] - ours[1] < 16)


def pair(steps, nodes):
    """Rows (step, op, shape, onyx ms, onnxruntime ms or None, node name) and the paired node indices."""
    rows, paired, first, last = [], set(), 0, -1
    for step, op, shape, ms, flops in steps:
        while first in paired:
            first += 1
        ahead = range(first, min(len(nodes), max(first, last + 1) + WINDOW))
        # A squeeze-and-excitation step pairs only with such a node (their output shapes are their input's).
        candidates = [k for k in ahead if k not in paired and nodes[k][1] not in LAYOUT_OPS and same_shape(shape, nodes[k][2])
                      and (op == "SqueezeExcite") == (nodes[k][1] == "SqueezeExcite")]
        if not candidates:
            rows.append((step, op, shape, ms, None, ""))
            continue
        # Of branches with the same output shape (SqueezeNet's expand 1x1 and 3x3, which the two
        # runtimes order differently), the one with the nearest FLOP count; else the first.
        if flops:
            counted = [k for k in candidates if nodes[k][4]]
            candidates = sorted(counted, key=lambda k: abs(math.log(flops / nodes[k][4]))) + [k for k in candidates if k not in counted]
        k = candidates[0]
        paired.add(k)
        last = max(last, k)
        rows.append((step, op, shape, ms, nodes[k][3], nodes[k][0]))
    return rows, paired


def main():
    # Piped into `head`, stop quietly.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--top", type=int, default=0, help="only the N layers onyx loses most time on")
    args = parser.parse_args()
    steps = onyx_steps(args.model, args.threads, args.seconds)
    nodes = ort_nodes(args.model, args.threads, args.seconds)
    rows, paired = pair(steps, nodes)
    if args.top:
        rows = sorted(rows, key=lambda r: -(r[3] - (r[4] or 0)))[: args.top]
    print(f"{'step':>4}  {'op':18} {'output shape':22} {'onyx ms':>8} {'ort ms':>8} {'ratio':>6}  ort node")
    for step, op, shape, ms, theirs, name in rows:
        ratio = f"{ms / theirs:6.2f}" if theirs else "     -"
        print(f"{step:4d}  {op:18} {str(shape):22} {ms:8.3f} {theirs or 0:8.3f} {ratio}  {name}")
    unpaired = [n for k, n in enumerate(nodes) if k not in paired]
    print(f"unpaired onnxruntime nodes: {len(unpaired)}, {sum(n[3] for n in unpaired):.3f} ms "
          f"({', '.join(sorted(set(n[1] for n in unpaired)))})")
    print(f"sum: onyx {sum(s[3] for s in steps):.3f} ms, onnxruntime {sum(n[3] for n in nodes):.3f} ms "
          f"({args.threads} thread{'s' if args.threads > 1 else ''}, medians per layer)")


if __name__ == "__main__":
    main()
