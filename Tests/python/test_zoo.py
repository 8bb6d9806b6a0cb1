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
# Every architecture the issue asks for.
ZOO_NAMES = {"squeezenet1_0", "squeezenet1_1", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
             "shufflenet_v1_g3", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "ghostnet_1_0", "efficientnet_b0", "xception",
             "micronet_m0", "resnet50", "densenet121", "yolov5_mobilenetv3_small"}


def test_zoo_lists_the_architectures():
    assert {e["name"] for e in ZOO} == ZOO_NAMES


@pytest.mark.parametrize("entry", ZOO, ids=lambda e: e["name"])
def test_zoo_export_matches_onnxruntime_and_published_sizes(entry, tmp):
    path = tmp / "model.onnx"
    result = run_onyx("zoo", "export", entry["name"], "-o", path, "--seed", "7", "--test-data")
    assert result.returncode == 0, result.stderr
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.producer_name == "onyx"
    assert any(n.op_type == "BatchNormalization" for n in model.graph.node) or entry["name"].startswith("squeezenet")
    assert entry["name"] in ZOO_NAMES
    info = json.loads(run_onyx("inspect", "--json", path).stdout)
    if entry["parameters"] is not None:
        assert info["parameters"] == entry["parameters"]
    if entry["macs"]:
        assert abs(info["macs"] - entry["macs"]) <= 0.03 * entry["macs"]
    x = numpy_helper.to_array(onnx.load_tensor(str(tmp / "test_data_set_0" / "input_0.pb")))
    expected = numpy_helper.to_array(onnx.load_tensor(str(tmp / "test_data_set_0" / "output_0.pb")))
    actual = ort.InferenceSession(str(path)).run(None, {model.graph.input[0].name: x})[0]
    if entry["name"].startswith("yolo"):
        # Boxes of 3 anchors on the 80x80, 40x40 and 20x20 grids of a 640x640 input, 6 classes + 5.
        assert actual.shape == expected.shape == (1, 3 * (80 * 80 + 40 * 40 + 20 * 20), 11)
    else:
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


@pytest.mark.parametrize("entry", ZOO, ids=lambda e: e["name"])
def test_zoo_export_at_opset_11(entry, tmp):
    """Opset 11 writes Split sizes and Squeeze/Unsqueeze axes as attributes; onnxruntime must agree."""
    path = tmp / "m.onnx"
    result = run_onyx("zoo", "export", entry["name"], "-o", path, "--opset", "11", "--test-data", "--input-size", "64", "64")
    assert result.returncode == 0, result.stderr
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == 11
    x = numpy_helper.to_array(onnx.load_tensor(str(tmp / "test_data_set_0" / "input_0.pb")))
    expected = numpy_helper.to_array(onnx.load_tensor(str(tmp / "test_data_set_0" / "output_0.pb")))
    actual = ort.InferenceSession(str(path)).run(None, {model.graph.input[0].name: x})[0]
    assert float(np.abs(actual - expected).max()) <= 1e-4 * float(np.abs(expected).max())


@pytest.mark.parametrize("name,expected", [
    ("mobilenet_v2", ["features.3.conv.1.0.weight", "classifier.1.weight"]),
    # timm's names (scripts/check-zoo-against-pytorch.py loads timm's state_dicts by them).
    ("xception", ["block1.rep.0.conv1.weight", "block1.rep.1.running_var", "block12.rep.1.pointwise.weight", "conv4.pointwise.weight"]),
    ("ghostnet_1_0", ["blocks.9.0.conv.weight", "blocks.3.0.se.conv_reduce.bias", "blocks.1.0.shortcut.2.weight", "conv_head.weight"]),
])
def test_zoo_export_names_follow_the_modules(name, expected, tmp):
    path = tmp / "m.onnx"
    run_onyx("zoo", "export", name, "-o", path)
    names = {t.name for t in onnx.load(str(path)).graph.initializer}
    assert set(expected) <= names


@pytest.mark.parametrize("args,message", [
    (["nonet"], "unknown architecture 'nonet'; see `onyx zoo list`"),
    (["squeezenet1_1", "--input-size", "224"], "--input-size takes a height and a width from 32 to 4096"),
    (["squeezenet1_1", "--opset", "7"], "--opset must be from 11 to 28"),
    (["yolov5_mobilenetv3_small", "--input-size", "320", "300"], "--input-size must be a multiple of 32 for yolov5_mobilenetv3_small"),
])
def test_zoo_export_rejects_bad_arguments(tmp, args, message):
    result = run_onyx("zoo", "export", *args, "-o", tmp / "x.onnx")
    assert result.returncode != 0 and message in result.stderr


def write_safetensors(tensors, path):
    """The safetensors layout: u64 little-endian header size, JSON header, then the data."""
    import struct
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        blob = array.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def initializers(path):
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


@pytest.mark.parametrize("kind", ["safetensors", "onnx"])
def test_zoo_export_loads_weights_by_name(kind, tmp):
    original = tmp / "a.onnx"
    assert run_onyx("zoo", "export", "mobilenet_v3_small", "-o", original, "--seed", "7").returncode == 0
    weights = initializers(original)
    source = original
    if kind == "safetensors":
        source = tmp / "w.safetensors"
        # The names a PyTorch state_dict has, plus the BatchNorm counter the network does not use.
        params = {k: v for k, v in weights.items() if k.endswith(("weight", "bias", "running_mean", "running_var"))}
        write_safetensors({**params, "features.0.1.num_batches_tracked": np.zeros(1, np.float32)}, source)
    reloaded = tmp / "b.onnx"
    result = run_onyx("zoo", "export", "mobilenet_v3_small", "-o", reloaded, "--seed", "99", "--weights", source)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loaded 210 of 210 parameter tensors from ")
    again = initializers(reloaded)
    for name, value in weights.items():
        assert np.array_equal(again[name], value), name
    x = np.random.RandomState(0).rand(1, 3, 224, 224).astype(np.float32)
    a = ort.InferenceSession(str(original)).run(None, {"input": x})[0]
    b = ort.InferenceSession(str(reloaded)).run(None, {"input": x})[0]
    assert np.array_equal(a, b)


def test_zoo_weight_errors(tmp):
    original = tmp / "a.onnx"
    run_onyx("zoo", "export", "squeezenet1_1", "-o", original)
    weights = initializers(original)
    path = tmp / "w.safetensors"

    def export(*args):
        return run_onyx("zoo", "export", "squeezenet1_1", "-o", tmp / "b.onnx", "--weights", path, *args)

    write_safetensors(weights, path)
    assert error_line(export("--classes", "10")) == (
        f"Error: {path}: 'classifier.1.weight' is [1000, 512, 1, 1] in the weights but [10, 512, 1, 1] in the network")
    write_safetensors({k: v for k, v in weights.items() if k != "features.3.squeeze.bias"}, path)
    assert error_line(export()) == f"Error: {path}: the weights have no 'features.3.squeeze.bias' (1 parameters missing)"
    assert export("--non-strict").stdout.startswith(f"loaded 51 of 52 parameter tensors from {path}")
    write_safetensors({**weights, "head.extra": np.zeros(3, np.float32)}, path)
    assert error_line(export()) == f"Error: {path}: the weights' 'head.extra' is not a parameter of squeezenet1_1 (1 unused)"
    write_safetensors({"other.weight": np.zeros(3, np.float32)}, path)
    assert error_line(export("--non-strict")) == (
        f"Error: {path}: no tensor in the weights is named like a parameter of squeezenet1_1 (e.g. 'features.0.weight')")
    header = b'{"a": {"dtype": 1}}'
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    assert error_line(export()) == f"Error: {path}: safetensors entry 'a' needs dtype, shape and data_offsets"
    path.write_bytes(b"\xff\x00\x00\x00\x00\x00\x00\x00{}")
    assert error_line(export()) == f"Error: {path}: safetensors header size 255 is past the end of the file"
