"""The optimizer and planner as users see them: `onyx inspect --optimize` and optimised runs."""
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from conftest import (LIGHT_MODELS, assert_close_to_scale, feed_inputs, light_models, ort_run, run_light_model, run_onyx,
                      shipped_models)

ALL = shipped_models() + light_models()


def optimized_info(path):
    result = run_onyx("inspect", "--optimize", "--json", path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.parent.name if p.name == "model.onnx" else p.stem)
def test_arena_is_within_ten_percent_of_the_lower_bound(path):
    plan = optimized_info(path)["plan"]
    assert 0 < plan["lower_bound_bytes"] <= plan["arena_bytes"] <= 1.10 * plan["lower_bound_bytes"]
    assert plan["arena_bytes"] <= plan["naive_bytes"]


@pytest.mark.parametrize("name", ["resnet50", "shufflenet", "densenet121", "inception_v2"])
def test_no_batchnorm_survives(name):
    info = optimized_info(LIGHT_MODELS / f"light_{name}.onnx")
    assert info["original_ops"]["BatchNormalization"] > 0
    assert "BatchNormalization" not in info["ops"]
    assert info["passes"]["batchnorm-to-affine"] == info["original_ops"]["BatchNormalization"]


def test_mobilenet_v2_compiles_to_at_most_56_steps():
    # torchvision's MobileNetV2 (width 0.35 keeps the file small; the layer structure is the full net's).
    info = optimized_info(shipped_models()[[p.parent.name for p in shipped_models()].index("mobilenet_v2")])
    assert info["plan"]["steps"] <= 56
    assert info["passes"]["residual-fusion"] == 10


def test_legacy_shufflenet_shape_plumbing_folds_and_shuffles_are_recognised():
    path = next(p for p in shipped_models() if p.parent.name == "shufflenet_v2_legacy")
    info = optimized_info(path)
    assert info["passes"]["channel-shuffle"] == 16
    for plumbing in ("Shape", "Gather", "Unsqueeze", "Constant", "Cast"):
        assert plumbing not in info["ops"]


def test_text_output_names_passes_and_plan():
    out = run_onyx("inspect", "--optimize", LIGHT_MODELS / "light_resnet50.onnx").stdout
    assert "passes fired: " in out and "affine-into-conv" in out
    assert "plan: " in out and "arena" in out and "lower bound" in out and "naive" in out


@pytest.mark.parametrize("path", light_models(), ids=lambda p: p.stem)
def test_optimised_light_models_match_onnxruntime_before_softmax(path, tmp):
    """Only the classifier's logits are exposed, so every fusion stays enabled."""
    model = onnx.load(str(path))
    softmax = next((n for n in model.graph.node if n.op_type == "Softmax"), None)
    if softmax is not None:
        model.graph.output.append(helper.make_empty_tensor_value_info(softmax.input[0]))
    expected, actual = run_light_model(model, tmp, seed=1)
    for e, a in zip(expected, actual):
        assert_close_to_scale(numpy_helper.to_array(a), e)


def test_no_optimize_flag_runs_the_imported_graph():
    folder = shipped_models()[0].parent
    assert run_onyx("check", "--no-optimize", folder).returncode == 0


CONVERTED = shipped_models() + [LIGHT_MODELS / f"light_{n}.onnx" for n in ("resnet50", "shufflenet", "squeezenet", "inception_v2")]


@pytest.mark.parametrize("path", CONVERTED, ids=lambda p: p.parent.name if p.name == "model.onnx" else p.stem)
def test_convert_optimize_writes_standard_onnx_with_the_same_outputs(path, tmp):
    out = tmp / "optimized.onnx"
    result = run_onyx("convert", "--optimize", path, "-o", out)
    assert result.returncode == 0, result.stderr
    optimized = onnx.load(str(out))
    onnx.checker.check_model(optimized, full_check=True)
    original = onnx.load(str(path))
    if any(n.op_type == "BatchNormalization" for n in original.graph.node):
        assert not any(n.op_type == "BatchNormalization" for n in optimized.graph.node)
    feeds = feed_inputs(original, seed=3)
    for e, a in zip(ort_run(path, feeds), ort_run(out, feeds)):
        assert_close_to_scale(a, e)


def test_convert_optimize_keeps_symbolic_batch(tmp):
    path = next(p for p in shipped_models() if p.parent.name == "shufflenet_v2_legacy")
    out = tmp / "o.onnx"
    assert run_onyx("convert", "--optimize", path, "-o", out).returncode == 0
    x = np.random.RandomState(0).standard_normal((3, 3, 224, 224)).astype(np.float32)
    expected, actual = ort_run(path, {"input": x})[0], ort_run(out, {"input": x})[0]
    assert actual.shape == (3, 10) and np.abs(actual - expected).max() < 1e-4
