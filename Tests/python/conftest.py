"""Shared helpers for the Python side of the test suite: run the onyx CLI, find models."""
import os
import subprocess
from pathlib import Path

import onnx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ONYX = Path(os.environ.get("ONYX_BIN", ROOT / ".build" / "release" / "onyx"))
LIGHT_MODELS = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def run_onyx(*args, timeout=300, input=None):
    """Runs the CLI (with `input` on its stdin); fails the test if it died by a signal (crash) or hung."""
    assert ONYX.exists(), f"{ONYX} is missing: build with scripts/build.sh first"
    result = subprocess.run([str(ONYX), *map(str, args)], capture_output=True, text=True, timeout=timeout, input=input)
    assert result.returncode >= 0, f"onyx died by signal {-result.returncode}: {result.stderr}"
    assert result.returncode < 128, f"onyx crashed (exit {result.returncode}): {result.stderr}"
    return result


def error_line(result):
    """The single error line the CLI printed for a failure."""
    assert result.returncode != 0, f"expected failure, got success: {result.stdout}"
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one error line, got: {result.stderr!r}"
    return lines[0]


def light_models():
    return sorted(LIGHT_MODELS.glob("*.onnx"))


def shipped_models():
    return sorted((ROOT / "models").glob("*/model.onnx"))


def feed_inputs(model, seed=0):
    """Random inputs for every real (non-initializer) graph input with a static shape."""
    import numpy as np
    from onnx import helper
    rng = np.random.RandomState(seed)
    inits = {t.name for t in model.graph.initializer}
    feeds = {}
    for value in model.graph.input:
        if value.name in inits:
            continue
        t = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(t.elem_type)
        feeds[value.name] = (rng.rand(*shape) if dtype.kind == "f" else rng.randint(0, 3, shape)).astype(dtype)
    return feeds


def ort_run(path, feeds):
    """onnxruntime's outputs for a model file, with its warnings silenced."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options).run(None, feeds)


def assert_close_to_scale(actual, expected, relative=1e-4, what=""):
    """|actual - expected| <= relative * max|expected|, shapes equal."""
    import numpy as np
    assert actual.shape == expected.shape, what
    scale = max(float(np.abs(expected).max()), 1e-30) if expected.size else 1.0
    error = float(np.abs(actual - expected).max()) if expected.size else 0.0
    assert error <= relative * scale, f"{what}: error {error} at scale {scale}"


def run_light_model(model, tmp, seed):
    """Saves `model`, feeds its image input a seeded normal sample, and returns onnxruntime's outputs
    and Onyx's (`onyx run`, read back from output_K.pb) in graph order."""
    import numpy as np
    from onnx import numpy_helper
    probed = tmp / "model.onnx"
    onnx.save(model, str(probed))
    inits = {t.name for t in model.graph.initializer}
    [inp] = [i for i in model.graph.input if i.name not in inits]
    x = np.random.RandomState(seed).standard_normal((1, 3, 224, 224)).astype(np.float32)
    np.save(tmp / "x.npy", x)
    expected = ort_run(probed, {inp.name: x})
    result = run_onyx("run", probed, "--input", f"{inp.name}={tmp / 'x.npy'}", "--output-dir", tmp / "out")
    assert result.returncode == 0, result.stderr
    actual = [onnx.load_tensor(str(tmp / "out" / f"output_{k}.pb")) for k in range(len(expected))]
    return expected, actual


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
