#!/usr/bin/env python3
"""Times onnxruntime and onyx on the same models and inputs, interleaved in one run, and prints the
latency ratio onyx / onnxruntime per model and thread count (below 1.0: onyx is faster).

    python3 benchmarks/compare.py [--threads 1 2] [--seconds 1] [--rounds 9] [MODEL.onnx ...]

Without model paths it uses benchmarks/models/*.onnx (see export-models.py). Each model is timed
in `--rounds` rounds of one onyx and one onnxruntime measurement, back to back (which goes first
alternates from round to round), so that both sides of a round see the same machine load. The ratio
is the median of the rounds' ratios, and `spread` gives the lowest and highest of them: on a shared
machine whose speed drifts by tens of percent over seconds, a paired ratio is steadier than a ratio
of medians taken at different moments. Nine rounds by default (five until the seventh session): on
this VM single rounds' ratios of one model range over 0.6-1.5, and two stray rounds out of five
move the median.

Load times (read, import, optimise, plan and pack weights for the input shapes, against
onnxruntime's session creation), each measured two ways: "cold", the first load in a fresh process
(`onyx bench`'s load_ms; onnxruntime in a fresh Python process), and "warm", a further load of the
same model in a process that has already loaded it (`onyx bench --reloads 3`'s median; a further
session in this process), where allocators and libraries are primed.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
ONYX = ROOT / ".build" / "release" / "onyx"


def ort_session(path, threads):
    """A session and the milliseconds its creation took."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    start = time.perf_counter()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session, (time.perf_counter() - start) * 1000


def ort_median(path, threads, seconds):
    session, _ = ort_session(path, threads)
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
    return statistics.median(times)


COLD_SESSION = """
import sys, time, onnxruntime as ort
options = ort.SessionOptions()
options.intra_op_num_threads = int(sys.argv[2])
options.log_severity_level = 3
start = time.perf_counter()
ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
print((time.perf_counter() - start) * 1000)
"""


def ort_cold_load(path, threads):
    """Session creation in a fresh Python process (onnxruntime already imported, not yet used)."""
    out = subprocess.run([sys.executable, "-c", COLD_SESSION, str(path), str(threads)],
                         capture_output=True, text=True, check=True).stdout
    return float(out)


def onyx_median(path, threads, seconds):
    out = subprocess.run([str(ONYX), "bench", str(path), "--threads", str(threads), "--seconds", str(seconds), "--json",
                          "--reloads", "3"], capture_output=True, text=True, check=True).stdout
    info = json.loads(out)
    return info["median_ms"], (info["load_ms"], info["warm_load_ms"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--seconds", type=float, default=1)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    models = args.models or sorted((ROOT / "benchmarks" / "models").glob("*.onnx"))
    print(f"{'model':24} {'threads':>7} {'onyx ms':>9} {'ort ms':>9} {'ratio':>7} {'spread':>11}   load: {'onyx cold':>9} "
          f"{'ort cold':>9} {'onyx warm':>9} {'ort warm':>9}")
    for path in models:
        for threads in args.threads:
            onyx, ort_times, onyx_loads, onyx_warm_loads, cold_loads, warm_loads = [], [], [], [], [], []
            for index in range(args.rounds):
                if index % 2 == 0:
                    o, (ol, owl) = onyx_median(path, threads, args.seconds)
                    r = ort_median(path, threads, args.seconds)
                else:
                    r = ort_median(path, threads, args.seconds)
                    o, (ol, owl) = onyx_median(path, threads, args.seconds)
                onyx.append(o)
                ort_times.append(r)
                onyx_loads.append(ol)
                onyx_warm_loads.append(owl)
                cold_loads.append(ort_cold_load(path, threads))
                # A further session of the model this process has already loaded.
                warm_loads.append(ort_session(path, threads)[1])
            o, r = statistics.median(onyx), statistics.median(ort_times)
            ratios = [a / b for a, b in zip(onyx, ort_times)]
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            ol, cold, owl, warm = (statistics.median(x) for x in (onyx_loads, cold_loads, onyx_warm_loads, warm_loads))
            print(f"{path.stem:24} {threads:>7} {o:>9.2f} {r:>9.2f} {statistics.median(ratios):>7.2f} {spread:>11}         "
                  f"{ol:>7.0f}ms {cold:>7.0f}ms {owl:>7.0f}ms {warm:>7.0f}ms", flush=True)


if __name__ == "__main__":
    main()
