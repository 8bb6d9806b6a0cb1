#!/usr/bin/env python3
"""Times onnxruntime and onyx on the same models and inputs, interleaved in one run, and prints the
latency ratio onyx / onnxruntime per model and thread count (below 1.0: onyx is faster).

    python3 benchmarks/compare.py [--threads 1 2] [--slice 0.5] [--rounds 15] [MODEL.onnx ...]

Without model paths it uses benchmarks/models/*.onnx (see export-models.py). For each model and
thread count, one onyx process (`onyx bench --slices`) and one onnxruntime session stay loaded, and
the two take turns in `--rounds` rounds of one `--slice`-second slice each (which goes first
alternates from round to round). A round's ratio is the ratio of its two slices' medians; the
reported ratio is the median of the rounds' ratios, and `spread` gives the lowest and highest. On
this shared VM the machine's speed drifts by tens of percent over seconds: the two sides of a round
are half a second apart here, where each side used to be a fresh process timed for a second (rounds
three seconds apart, ratios of single rounds over 0.6-1.5; kept to the eighth session).

Around every round `onyx-core-latency` times a cache line's round trip between the two cores (built
with onyx; skipped if missing). On this VM it is about 80-150 ns while the vCPUs share a last-level
cache and 330-400 ns while the host runs them on different CCDs, where every line one thread writes and
the other reads costs tens of nanoseconds and two-thread runs of both runtimes slow down by half or
more. A round is "near" when both of its probes are under NEAR_NS, "far" when both are over FAR_NS
(otherwise mixed); the `near` and `far` columns give the median ratio of those rounds and their count.

Load times (read, import, optimise, plan and pack weights for the input shapes, against
onnxruntime's session creation), each measured two ways: "cold", the first load in a fresh process
(`onyx bench`'s load_ms; onnxruntime in a fresh Python process), and "warm", a further load of the
same model in a process that has already loaded it (`onyx bench --reloads`' median; a further
session in this process), where allocators and libraries are primed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
ONYX = ROOT / ".build" / "release" / "onyx"
CORE_LATENCY = ROOT / ".build" / "release" / "onyx-core-latency"
NEAR_NS, FAR_NS = 200, 250
# Seconds of pause before each slice, so that the other runtime's worker threads, which spin for a
# while after a run before they sleep, are idle when the slice starts.
IDLE = 0.05


def core_latency():
    """The cores' cache-line round trip in ns (None without the probe, or when it gave up: one core, or
    the other one taken)."""
    if not CORE_LATENCY.exists():
        return None
    result = subprocess.run([str(CORE_LATENCY)], capture_output=True, text=True)
    return float(result.stdout) if result.returncode == 0 else None


def state(before, after):
    """A round's host state from the probes around it: near, far or mixed (None without the probe)."""
    if before is None or after is None:
        return None
    if before < NEAR_NS and after < NEAR_NS:
        return "near"
    return "far" if before > FAR_NS and after > FAR_NS else "mixed"


def by_state(ratios, states, wanted):
    """`median (count)` of the ratios of the rounds in state `wanted`, or `-`."""
    chosen = [r for r, s in zip(ratios, states) if s == wanted]
    return f"{statistics.median(chosen):.2f} ({len(chosen)})" if chosen else "-"


def ort_session(path, threads):
    """A session and the milliseconds its creation took."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    start = time.perf_counter()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session, (time.perf_counter() - start) * 1000


def ort_feeds(session):
    feeds = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
    return feeds


def warm_session(path, threads):
    """A session that has run three times, and its feeds."""
    session, _ = ort_session(path, threads)
    feeds = ort_feeds(session)
    for _ in range(3):
        session.run(None, feeds)
    return session, feeds


def ort_slice(session, feeds, seconds):
    """The median of onnxruntime's runs for `seconds`."""
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


def onyx_cold_load(path, threads):
    """The load time of a fresh `onyx bench` process."""
    out = subprocess.run([str(ONYX), "bench", str(path), "--threads", str(threads), "--seconds", "0.01", "--warmup", "0", "--json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["load_ms"]


class OnyxSlices:
    """An `onyx bench --slices` process: each call times one slice and returns its median."""

    def __init__(self, path, threads, reloads, onyx=ONYX):
        self.process = subprocess.Popen([str(onyx), "bench", str(path), "--threads", str(threads), "--slices", "--json",
                                         "--reloads", str(reloads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self, seconds):
        self.process.stdin.write(f"{seconds}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def finish(self):
        """The summary: cold and warm load times (ms)."""
        out, _ = self.process.communicate()
        if self.process.returncode != 0:
            sys.exit(f"onyx bench --slices failed with exit code {self.process.returncode}")
        info = json.loads(out)
        return info["load_ms"], info["warm_load_ms"]


def cpu_line():
    """The CPU and its widest vector extension, which decides both runtimes' kernels: a VM may hide
    AVX-512 from a CPU that has it (this project's machine did in the twenty-third and twenty-fourth
    sessions), and onyx built with `-target-cpu native` then uses its AVX2 tiles, onnxruntime its AVX2
    kernels."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "# cpu: unknown"
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    widest = "avx512f" if "avx512f" in flags else "avx2" if "avx2" in flags else "sse only"
    return f"# cpu: {name}, {os.cpu_count()} logical, widest vectors {widest}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--slice", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--loads", type=int, default=5, help="cold and warm loads timed per model and thread count")
    args = parser.parse_args()
    # The first load is timed in any case (it is the onyx process the slices run in).
    if args.loads < 1 or args.rounds < 1 or args.slice <= 0 or min(args.threads) < 1:
        parser.error("--loads, --rounds and --threads must be at least 1, --slice positive")
    models = args.models or sorted((ROOT / "benchmarks" / "models").glob("*.onnx"))
    print(cpu_line())
    print(f"{'model':24} {'threads':>7} {'onyx ms':>9} {'ort ms':>9} {'ratio':>7} {'spread':>11} {'near':>9} {'far':>9}   "
          f"load: {'onyx cold':>9} {'ort cold':>9} {'onyx warm':>9} {'ort warm':>9}")
    for path in models:
        for threads in args.threads:
            onyx = OnyxSlices(path, threads, args.loads)
            onyx(0.01)  # loaded and warm: its load did not share the cores with the session's creation
            session, feeds = warm_session(path, threads)
            onyx_times, ort_times, states = [], [], []
            def onyx_turn():
                time.sleep(IDLE)
                onyx_times.append(onyx(args.slice))

            def ort_turn():
                time.sleep(IDLE)
                ort_times.append(ort_slice(session, feeds, args.slice))

            for index in range(args.rounds):
                before = core_latency()
                for turn in ((onyx_turn, ort_turn) if index % 2 == 0 else (ort_turn, onyx_turn)):
                    turn()
                states.append(state(before, core_latency()))
            onyx_cold, onyx_warm = onyx.finish()
            del session
            onyx_cold = statistics.median([onyx_cold] + [onyx_cold_load(path, threads) for _ in range(args.loads - 1)])
            cold = statistics.median(ort_cold_load(path, threads) for _ in range(args.loads))
            # Further sessions of the model this process has already loaded.
            warm = statistics.median(ort_session(path, threads)[1] for _ in range(args.loads))
            o, r = statistics.median(onyx_times), statistics.median(ort_times)
            ratios = [a / b for a, b in zip(onyx_times, ort_times)]
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            print(f"{path.stem:24} {threads:>7} {o:>9.2f} {r:>9.2f} {statistics.median(ratios):>7.2f} {spread:>11} "
                  f"{by_state(ratios, states, 'near'):>9} {by_state(ratios, states, 'far'):>9}         "
                  f"{onyx_cold:>7.0f}ms {cold:>7.0f}ms {onyx_warm:>7.0f}ms {warm:>7.0f}ms", flush=True)


if __name__ == "__main__":
    main()
