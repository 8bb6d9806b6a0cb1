#!/usr/bin/env python3
"""Two builds of onyx side by side with onnxruntime, each round tagged by the host's state.

    python3 benchmarks/ab.py BASELINE CHANGED MODEL.onnx [--threads 2] [--rounds 40] [--slice 0.3] [--pin CPU] [--by-speed]

BASELINE and CHANGED are `onyx` executables: copy the release build aside, make the change, build
again. Each round times a slice of each build and of onnxruntime, with `onyx-core-latency` before and
after (near, far or mixed, as in compare.py). A change to where data lives or which thread touches it
can be even while the vCPUs share a cache and win or lose while they do not; an A/B inside one process
(`onyx bench --variants`) cannot tell, since each variant inherits the other's cache placement.
Prints, per state: each build's median ms and median ratio to onnxruntime, and the median per-round
ratio CHANGED / BASELINE. Two copies of one build differ by a few percent over ten rounds here: run
that first to see the noise of the day.

The host also has a slow mode (benchmarks/RESULTS.md, nineteenth session), which comes and goes within
seconds and costs memory-heavy code the most. `--pin CPU` runs everything on one CPU, so that a round
finds every process in the same mode, and `--by-speed` tags the rounds `fast` or `slow` by the
baseline's time instead of near or far: it splits them at the widest gap between the baseline's sorted
times when that gap is over 10% (otherwise every round is `steady`). A change meant for the slow mode
is judged by its `slow` line.
"""
import argparse
import os
import statistics
import time
from pathlib import Path

from compare import IDLE, OnyxSlices, core_latency, ort_slice, state, warm_session


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("baseline", type=Path)
    parser.add_argument("changed", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--slice", type=float, default=0.3)
    parser.add_argument("--pin", type=int, metavar="CPU", help="run this script and both builds on this CPU only")
    parser.add_argument("--by-speed", action="store_true", help="tag rounds fast or slow by the baseline's time")
    args = parser.parse_args()
    if args.rounds < 1 or args.threads < 1 or args.slice <= 0:
        parser.error("--rounds and --threads must be at least 1, --slice positive")
    for binary in (args.baseline, args.changed):
        if not binary.is_file():
            parser.error(f"no onyx executable at {binary}")
    if args.pin is not None:
        cpus = sorted(os.sched_getaffinity(0))
        if args.pin not in cpus:
            parser.error(f"--pin {args.pin}: not one of this process's CPUs ({', '.join(map(str, cpus))})")
        os.sched_setaffinity(0, {args.pin})  # the builds' processes, started below, inherit it
    builds = [OnyxSlices(args.model, args.threads, 1, onyx=binary) for binary in (args.baseline, args.changed)]
    for build in builds:
        build(0.01)
    session, feeds = warm_session(args.model, args.threads)
    # Each slice after a pause, as in compare.py: the previous runtime's workers spin for a while.
    slices = [lambda build=build: build(args.slice) for build in builds] + [lambda: ort_slice(session, feeds, args.slice)]
    # Each round's times, and its state from the probe around it (not probed when tagged by speed).
    timed_rounds, states = [], []
    for _ in range(args.rounds):
        before = None if args.by_speed else core_latency()
        times = []
        for timed in slices:
            time.sleep(IDLE)
            times.append(timed())
        timed_rounds.append(times)
        states.append(None if args.by_speed else state(before, core_latency()))
    for build in builds:
        build.finish()
    if args.by_speed:
        rounds = by_speed(timed_rounds)
    else:
        rounds = {tag: [t for t, s in zip(timed_rounds, states) if s == tag] for tag in ("near", "far", "mixed")}
    print(f"{args.model.stem}, {args.threads} threads" + (f", on CPU {args.pin}" if args.pin is not None else ""))
    for tag, rows in rounds.items():
        if not rows:
            continue
        baseline, changed, ort = zip(*rows)
        ratio = lambda xs: statistics.median(x / o for x, o in zip(xs, ort))
        print(f"{tag:6} ({len(rows):2} rounds): baseline {statistics.median(baseline):.3f} ms ({ratio(baseline):.2f}), "
              f"changed {statistics.median(changed):.3f} ms ({ratio(changed):.2f}), onnxruntime {statistics.median(ort):.3f} ms; "
              f"changed / baseline {statistics.median(c / b for c, b in zip(changed, baseline)):.3f}")
    if not any(rounds.values()):
        print("no round could be classified (onyx-core-latency missing or gave up)")


def by_speed(timed_rounds, gap=1.10):
    """The rounds as {"fast": ..., "slow": ...}, split at the widest gap between the baseline's sorted
    times (the first of each round's times) if it is over `gap`; else {"steady": all of them}."""
    ordered = sorted(times[0] for times in timed_rounds)
    ratios = [(b / a, a) for a, b in zip(ordered, ordered[1:]) if a > 0]
    widest, below = max(ratios, default=(1.0, None))
    if widest <= gap:
        return {"steady": timed_rounds}
    return {"fast": [t for t in timed_rounds if t[0] <= below], "slow": [t for t in timed_rounds if t[0] > below]}


if __name__ == "__main__":
    main()
