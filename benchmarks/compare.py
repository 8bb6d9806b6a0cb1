#!/usr/bin/env python3
"""Times onnxruntime and onyx on the same models and inputs, interleaved in one run, and prints the
latency ratio onyx / onnxruntime per model and thread count (below 1.0: onyx is faster).

    python3 benchmarks/compare.py [--threads 1 2] [--seconds 3] [MODEL.onnx ...]

Without model paths it uses benchmarks/models/*.onnx (see export-models.py). Each model is timed
alternately, onyx then onnxruntime, `--rounds` times, and the medians of the rounds are compared, so
that both see the same machine load.
"""
import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
ONYX = ROOT / ".build" / "release" / "onyx"


def ort_median(path, threads, seconds):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    start = time.perf_counter()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - start) * 1000
    feeds = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
    for _ in range(3):
        session.run(None, feeds)
    times = []
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        t = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), load_ms


def onyx_median(path, threads, seconds):
    out = subprocess.run([str(ONYX), "bench", str(path), "--threads", str(threads), "--seconds", str(seconds), "--json"],
                         capture_output=True, text=True, check=True).stdout
    info = json.loads(out)
    return info["median_ms"], info["load_ms"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    models = args.models or sorted((ROOT / "benchmarks" / "models").glob("*.onnx"))
    print(f"{'model':24} {'threads':>7} {'onyx ms':>9} {'ort ms':>9} {'ratio':>7} {'onyx load':>10} {'ort load':>9}")
    for path in models:
        for threads in args.threads:
            onyx, ort_times, loads = [], [], []
            for _ in range(args.rounds):
                o, ol = onyx_median(path, threads, args.seconds)
                r, rl = ort_median(path, threads, args.seconds)
                onyx.append(o)
                ort_times.append(r)
                loads.append((ol, rl))
            o, r = statistics.median(onyx), statistics.median(ort_times)
            ol, rl = statistics.median(l[0] for l in loads), statistics.median(l[1] for l in loads)
            print(f"{path.stem:24} {threads:>7} {o:>9.2f} {r:>9.2f} {o / r:>7.2f} {ol:>8.0f}ms {rl:>7.0f}ms", flush=True)


if __name__ == "__main__":
    main()
