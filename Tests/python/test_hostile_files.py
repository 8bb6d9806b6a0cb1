"""Every malformed or hostile model file gets one clear error line, a nonzero exit and no crash."""
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import error_line, light_models, run_onyx


def small_model(initializer=None, ir_version=8, opset=13):
    w = initializer if initializer is not None else numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
                              initializer=[w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version)


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, payload):
    """A length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def inspect_error(tmp, data, name="model.onnx"):
    path = tmp / name
    path.write_bytes(data)
    return path, error_line(run_onyx("inspect", path))


def tensor_case(tmp, mutate):
    t = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    mutate(t)
    return inspect_error(tmp, small_model(t).SerializeToString())


def test_missing_file(tmp):
    path = tmp / "nope.onnx"
    assert error_line(run_onyx("inspect", path)) == f"Error: {path}: no such file or directory"


def test_directory(tmp):
    assert error_line(run_onyx("inspect", tmp)) == f"Error: {tmp}: not a regular file"


def test_empty_file(tmp):
    path, line = inspect_error(tmp, b"")
    assert line == f"Error: {path}: the file is empty"


def test_truncated_file(tmp):
    data = small_model().SerializeToString()
    path, line = inspect_error(tmp, data[: len(data) // 2])
    assert line.startswith(f"Error: {path}: invalid protobuf at byte ")
    assert "runs past the end" in line or "truncated varint" in line


@pytest.mark.parametrize("model", light_models()[:3], ids=lambda p: p.stem)
def test_every_truncation_of_a_real_model_fails_cleanly(model, tmp):
    data = model.read_bytes()
    for cut in range(1, len(data), max(1, len(data) // 97)):
        path = tmp / "cut.onnx"
        path.write_bytes(data[:cut])
        result = run_onyx("inspect", path)
        if result.returncode != 0:  # some prefixes are valid protobuf; they must then fail validation
            assert result.stderr.startswith(f"Error: {path}: ")


def test_random_bytes(tmp):
    rng = np.random.RandomState(7)
    for i in range(50):
        data = rng.bytes(int(rng.randint(1, 4096)))
        path = tmp / f"random{i}.onnx"
        path.write_bytes(data)
        line = error_line(run_onyx("inspect", path))
        assert line.startswith(f"Error: {path}: ")


def test_bad_varint(tmp):
    path, line = inspect_error(tmp, b"\x08" + b"\xff" * 10 + b"\x01")
    assert line == f"Error: {path}: invalid protobuf at byte 1 in ModelProto: varint longer than 64 bits"


def test_length_past_end(tmp):
    path, line = inspect_error(tmp, varint(7 << 3 | 2) + varint(1000) + b"\x00" * 10)
    assert line == (f"Error: {path}: invalid protobuf at byte 0 in ModelProto: length 1000 of ModelProto field 7 "
                    "runs past the end (10 bytes left)")


def test_wrong_wire_type(tmp):
    path, line = inspect_error(tmp, varint(7 << 3 | 0) + varint(1))
    assert line == (f"Error: {path}: invalid protobuf at byte 0 in ModelProto: ModelProto field 7 has wire type "
                    "varint, which does not match its type")


def test_group_wire_type(tmp):
    path, line = inspect_error(tmp, varint(3 << 3 | 3))
    assert line == f"Error: {path}: invalid protobuf at byte 0 in ModelProto: groups (wire type 3) are not used by ONNX"


def test_trailing_garbage(tmp):
    path, line = inspect_error(tmp, small_model().SerializeToString() + b"\x00\x00garbage")
    assert "invalid protobuf at byte" in line and line.endswith("in ModelProto: field number 0")


def test_missing_graph(tmp):
    model = small_model()
    model.ClearField("graph")
    path, line = inspect_error(tmp, model.SerializeToString())
    assert line == f"Error: {path}: the model has no graph"


def test_ir_version_too_new(tmp):
    path, line = inspect_error(tmp, small_model(ir_version=99).SerializeToString())
    assert line == f"Error: {path}: IR version 99 is newer than the newest supported (14)"


def test_opset_too_new(tmp):
    path, line = inspect_error(tmp, small_model(opset=99).SerializeToString())
    assert line == f"Error: {path}: opset 99 is newer than the newest supported (28)"


def test_raw_data_too_short(tmp):
    path, line = tensor_case(tmp, lambda t: setattr(t, "raw_data", t.raw_data[:12]))
    assert line == f"Error: {path}: tensor 'w': raw_data holds 12 bytes but shape [2, 2] of float32 needs 16"


def test_raw_data_too_long(tmp):
    path, line = tensor_case(tmp, lambda t: setattr(t, "raw_data", t.raw_data + b"\0" * 4))
    assert line == f"Error: {path}: tensor 'w': raw_data holds 20 bytes but shape [2, 2] of float32 needs 16"


def test_typed_data_count_mismatch(tmp):
    t = helper.make_tensor("w", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0])
    del t.float_data[3]
    path, line = inspect_error(tmp, small_model(t).SerializeToString())
    assert line == f"Error: {path}: tensor 'w': float_data holds 3 values but shape [2, 2] of float32 needs 4"


def test_negative_dim(tmp):
    def mutate(t):
        del t.dims[:]
        t.dims.extend([-1, 2])
    path, line = tensor_case(tmp, mutate)
    assert line == f"Error: {path}: tensor 'w': negative dimension -1 in shape [-1, 2]"


def test_overflowing_dims(tmp):
    def mutate(t):
        del t.dims[:]
        t.dims.extend([1 << 40, 1 << 40])
    path, line = tensor_case(tmp, mutate)
    assert line == f"Error: {path}: tensor 'w': shape [1099511627776, 1099511627776] has too many elements"


def test_empty_tensor_with_huge_dims(tmp):
    """No elements, but strides and plane sizes that overflow (a fuzzing finding)."""
    def mutate(t):
        t.ClearField("raw_data")
        del t.dims[:]
        t.dims.extend([0, 1 << 40, 1 << 40])
    path, line = tensor_case(tmp, mutate)
    assert line == f"Error: {path}: tensor 'w': shape [0, 1099511627776, 1099511627776] has too many elements"


def test_unknown_data_type(tmp):
    path, line = tensor_case(tmp, lambda t: setattr(t, "data_type", 99))
    assert line == f"Error: {path}: tensor 'w': unknown data type 99"


def test_deeply_nested_subgraphs(tmp):
    # graph -> node -> attribute -> graph ..., 200 levels, built as raw bytes (python protobuf would refuse).
    graph = b""
    for _ in range(200):
        attribute = field(1, b"body") + field(6, graph) + varint(20 << 3) + varint(5)
        node = field(4, b"Loop") + field(5, attribute)
        graph = field(1, node)
    model = varint(1 << 3) + varint(8) + field(7, graph) + field(8, field(1, b"") + varint(2 << 3) + varint(13))
    path, line = inspect_error(tmp, model)
    assert line.startswith(f"Error: {path}: invalid protobuf at byte ")
    assert line.endswith("messages nested deeper than 100 levels")


def external_model(tmp, location, offset=None, length=None):
    t = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location)] + ([("offset", str(offset))] if offset is not None else []) + \
              ([("length", str(length))] if length is not None else [])
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    folder = tmp / "model"
    folder.mkdir(exist_ok=True)
    path = folder / "model.onnx"
    path.write_bytes(small_model(t).SerializeToString())
    return folder, path


def test_external_data_ok(tmp):
    folder, path = external_model(tmp, "w.bin")
    (folder / "w.bin").write_bytes(np.ones((2, 2), np.float32).tobytes())
    assert run_onyx("inspect", path).returncode == 0


def test_external_data_missing(tmp):
    _, path = external_model(tmp, "w.bin")
    assert error_line(run_onyx("inspect", path)) == f"Error: {path}: tensor 'w': external data file 'w.bin' does not exist"


def test_external_data_too_short(tmp):
    folder, path = external_model(tmp, "w.bin", offset=8, length=16)
    (folder / "w.bin").write_bytes(b"\0" * 20)
    assert error_line(run_onyx("inspect", path)) == (
        f"Error: {path}: tensor 'w': external data 'w.bin' is 20 bytes, too short for offset 8 + length 16")


def test_external_data_length_mismatch(tmp):
    folder, path = external_model(tmp, "w.bin", length=12)
    (folder / "w.bin").write_bytes(b"\0" * 16)
    assert error_line(run_onyx("inspect", path)) == (
        f"Error: {path}: tensor 'w': external data length 12 does not match the 16 bytes its shape needs")


def test_external_data_absolute(tmp):
    (tmp / "secret.bin").write_bytes(b"\0" * 16)
    _, path = external_model(tmp, str(tmp / "secret.bin"))
    assert error_line(run_onyx("inspect", path)) == (
        f"Error: {path}: tensor 'w': external data location '{tmp / 'secret.bin'}' is an absolute path")


def test_external_data_dot_dot(tmp):
    (tmp / "secret.bin").write_bytes(b"\0" * 16)
    _, path = external_model(tmp, "../secret.bin")
    assert error_line(run_onyx("inspect", path)) == (
        f"Error: {path}: tensor 'w': external data location '../secret.bin' leaves the model's folder")


def test_external_data_symlink_escape(tmp):
    (tmp / "secret.bin").write_bytes(b"\0" * 16)
    folder, path = external_model(tmp, "link.bin")
    os.symlink(tmp / "secret.bin", folder / "link.bin")
    assert error_line(run_onyx("inspect", path)) == (
        f"Error: {path}: tensor 'w': external data location 'link.bin' resolves outside the model's folder")


def test_convert_reports_bad_input_without_writing(tmp):
    path = tmp / "bad.onnx"
    path.write_bytes(b"\xff\xff")
    out = tmp / "out.onnx"
    line = error_line(run_onyx("convert", path, "-o", out))
    assert line.startswith(f"Error: {path}: invalid protobuf")
    assert not out.exists()
