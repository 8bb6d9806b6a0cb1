#!/usr/bin/env python3
"""Two builds of onyx side by side with onnxruntime, each round tagged by the host's state.

    python3 benchmarks/ab.py BASELINE CHANGED MODEL.onnx [--threads 2] [--rounds 40] [--slice 0.3]

BASELINE and CHANGED are `onyx` executables: copy the release build aside, make the change, build
again. Each round times a slice of each build and of onnxruntime, with `onyx-core-latency` before and
after (near, far or mixed, as in compare.py). A change to where data lives or which thread touches it
can be even while the vCPUs share a cache and win or lose while they do not; an A/B inside one process
(`onyx bench --variants`) cannot tell, since each variant inherits the other's cache placement.
Prints, per state: each build's median ms and median ratio to onnxruntime, and the median per-round
ratio CHANGED / BASELINE. Two copies of one build differ by a few percent over ten rounds here: run
that first to see the noise of the day.
"""
import argparse
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
    args = parser.parse_args()
    if args.rounds < 1 or args.threads < 1 or args.slice <= 0:
        parser.error("--rounds and --threads must be at least 1, --slice positive")
    for binary in (args.baseline, args.changed):
        if not binary.is_file():
            parser.error(f"no onyx executable at {binary}")
    builds = [OnyxSlices(args.model, args.threads, 1, onyx=binary) for binary in (args.baseline, args.changed)]
    for build in builds:
        build(0.01)
    session, feeds = warm_session(args.model, args.threads)
    # Each slice after a pause, as in compare.py: the previous runtime's workers spin for a while.
    slices = [lambda build=build: build(args.slice) for build in builds] + [lambda: ort_slice(session, feeds, args.slice)]
    rounds = {"near": [], "far": [], "mixed": []}
    for _ in range(args.rounds):
        before = core_latency()
        times = []
        for timed in slices:
            time.sleep(IDLE)
            times.append(timed())
        tag = state(before, core_latency())
        if tag:
            rounds[tag].append(times)
    for build in builds:
        build.finish()
    print(f"{args.model.stem}, {args.threads} threads")
    for tag, rows in rounds.items():
        if not rows:
            continue
        baseline, changed, ort = zip(*rows)
        ratio = lambda xs: statistics.median(x / o for x, o in zip(xs, ort))
        print(f"{tag:5} ({len(rows):2} rounds): baseline {statistics.median(baseline):.3f} ms ({ratio(baseline):.2f}), "
              f"changed {statistics.median(changed):.3f} ms ({ratio(changed):.2f}), onnxruntime {statistics.median(ort):.3f} ms; "
              f"changed / baseline {statistics.median(c / b for c, b in zip(changed, baseline)):.3f}")
    if not any(rounds.values()):
        print("no round could be classified (onyx-core-latency missing or gave up)")


if __name__ == "__main__":
    main()
