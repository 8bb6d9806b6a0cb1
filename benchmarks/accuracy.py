#!/usr/bin/env python3
"""Checks Onyx's outputs against onnxruntime's on the benchmark models, at each thread count: the
largest absolute difference must be within 1e-4 of the output's scale (its largest magnitude).

    python3 benchmarks/accuracy.py [--threads 1 2] [MODEL.onnx ...]

Without model paths it uses benchmarks/models/*.onnx (see export-models.py). Each model gets one
random input (uniform in [-1, 1], seeded), run through `onyx run` and through onnxruntime's CPU
provider. Exits nonzero if any model is outside the tolerance.
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[1]
ONYX = ROOT / ".build" / "release" / "onyx"
TOLERANCE = 1e-4


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    args = parser.parse_args()
    models = args.models or sorted((ROOT / "benchmarks" / "models").glob("*.onnx"))
    failed = False
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        for path in models:
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            feeds, arguments = {}, []
            for i in session.get_inputs():
                shape = [d if isinstance(d, int) else 1 for d in i.shape]
                feeds[i.name] = np.random.RandomState(1).uniform(-1, 1, shape).astype(np.float32)
                np.save(work / f"{i.name}.npy", feeds[i.name])
                arguments += ["--input", f"{i.name}={work / (i.name + '.npy')}"]
            expected = session.run(None, feeds)
            for threads in args.threads:
                subprocess.run([str(ONYX), "run", str(path), *arguments, "--output-dir", str(work / "out"), "--threads", str(threads)],
                               check=True, capture_output=True)
                worst = 0.0
                for k, reference in enumerate(expected):
                    actual = numpy_helper.to_array(onnx.load_tensor(str(work / "out" / f"output_{k}.pb")))
                    scale = max(float(np.abs(reference).max()), 1e-30)
                    worst = max(worst, float(np.abs(actual - reference).max()) / scale)
                verdict = "ok" if worst <= TOLERANCE else f"OUTSIDE {TOLERANCE:g}"
                failed |= worst > TOLERANCE
                print(f"{path.stem:24} threads {threads}: max |onyx - ort| / scale = {worst:.1e}  {verdict}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
