"""`onyx zoo`: every architecture exports to ONNX that passes the full checker, has the published parameter
count and MACs, and runs in onnxruntime to the outputs Onyx computes for the builder graph."""
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from conftest import error_line, run_onyx

ZOO = json.loads(run_onyx("zoo", "list", "--json").stdout)


def test_zoo_lists_the_architectures():
    names = [e["name"] for e in ZOO]
    assert "squeezenet1_1" in names and "mobilenet_v2" in names


@pytest.mark.parametrize("entry", ZOO, ids=lambda e: e["name"])
def test_zoo_export_matches_onnxruntime_and_published_sizes(entry, tmp):
    path = tmp / "model.onnx"
    result = run_onyx("zoo", "export", entry["name"], "-o", path, "--seed", "7", "--test-data")
    assert result.returncode == 0, result.stderr
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.producer_name == "onyx"
    assert any(n.op_type == "BatchNormalization" for n in model.graph.node) or entry["name"].startswith("squeezenet")
    info = json.loads(run_onyx("inspect", "--json", path).stdout)
    if entry["parameters"] is not None:
        assert info["parameters"] == entry["parameters"]
    if entry["macs"]:
        assert abs(info["macs"] - entry["macs"]) <= 0.03 * entry["macs"]
    x = numpy_helper.to_array(onnx.load_tensor(str(tmp / "test_data_set_0" / "input_0.pb")))
    expected = numpy_helper.to_array(onnx.load_tensor(str(tmp / "test_data_set_0" / "output_0.pb")))
    actual = ort.InferenceSession(str(path)).run(None, {model.graph.input[0].name: x})[0]
    assert actual.shape == expected.shape == (1, 1000)
    assert float(np.abs(actual - expected).max()) <= 1e-4 * float(np.abs(expected).max())


def test_zoo_export_options(tmp):
    path = tmp / "m.onnx"
    assert run_onyx("zoo", "export", "mobilenet_v2", "-o", path, "--classes", "10", "--input-size", "160", "128",
                    "--opset", "17").returncode == 0
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == 17
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 160, 128]
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim] in ([], [1, 10])


@pytest.mark.parametrize("name", ["squeezenet1_1", "mobilenet_v2"])
def test_zoo_export_at_opset_11(name, tmp):
    path = tmp / "m.onnx"
    assert run_onyx("zoo", "export", name, "-o", path, "--opset", "11").returncode == 0
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == 11


def test_zoo_export_names_follow_the_modules(tmp):
    path = tmp / "m.onnx"
    run_onyx("zoo", "export", "mobilenet_v2", "-o", path)
    names = {t.name for t in onnx.load(str(path)).graph.initializer}
    assert "features.3.conv.1.0.weight" in names and "classifier.1.weight" in names


@pytest.mark.parametrize("args,message", [
    (["nonet"], "unknown architecture 'nonet'; see `onyx zoo list`"),
    (["squeezenet1_1", "--input-size", "224"], "--input-size takes a height and a width from 32 to 4096"),
    (["squeezenet1_1", "--opset", "7"], "--opset must be from 11 to 28"),
])
def test_zoo_export_rejects_bad_arguments(tmp, args, message):
    result = run_onyx("zoo", "export", *args, "-o", tmp / "x.onnx")
    assert result.returncode != 0 and message in result.stderr
