#!/usr/bin/env python3
"""Keeps the last-level cache busy, as another tenant of a shared host does, so that onyx and
onnxruntime can be timed under that contention on demand:

    taskset -c 1 python3 benchmarks/hog.py --megabytes 16 --seconds 300 &
    taskset -c 0 python3 benchmarks/compare.py MODEL.onnx --threads 1

It copies an array of MB megabytes into a second one and back until the time is up, then prints the
bandwidth it used. Two arrays of 12-16 MB (about this machine's 32 MB L3) evict a model's weights and
activations between runs; arrays of 64 MB mostly stream from memory and disturb the runtimes less
(see RESULTS.md, eighteenth session). Both runtimes share the contention, so compare their ratio.
"""
import argparse
import sys
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=16, help="size of each of the two arrays")
    parser.add_argument("--seconds", type=float, default=300, help="how long to run")
    args = parser.parse_args()
    if not 0 < args.megabytes <= 4096 or args.seconds < 0:
        sys.exit("hog.py: --megabytes must be in (0, 4096] and --seconds at least 0")
    a = np.ones(max(1, int(args.megabytes * 2**20) // 4), np.float32)
    b = np.empty_like(a)
    start = time.monotonic()
    copies = 0
    while time.monotonic() - start < args.seconds:
        np.copyto(b, a)
        np.copyto(a, b)
        copies += 2
    elapsed = max(time.monotonic() - start, 1e-9)
    # Each copy reads one array and writes the other.
    print(f"hog.py: {copies} copies of {args.megabytes:g} MB in {elapsed:.1f} s, "
          f"{2 * copies * a.nbytes / elapsed / 1e9:.1f} GB/s")


if __name__ == "__main__":
    main()
