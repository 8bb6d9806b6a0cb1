"""`onyx inspect` and `onyx convert` on real models, checked against onnx and onnxruntime."""
import json
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from conftest import LIGHT_MODELS, feed_inputs, light_models, run_onyx, shipped_models

MODELS = light_models() + shipped_models()


def independent_parameter_count(model):
    """Floating-point constants (initializers, Constant, ConstantOfShape of a constant shape) minus
    BatchNormalization's running statistics: PyTorch's notion of parameters."""
    g = model.graph
    const = {}
    for t in g.initializer:
        const[t.name] = numpy_helper.to_array(t)
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    const[n.output[0]] = numpy_helper.to_array(a.t)
        elif n.op_type == "ConstantOfShape" and n.input[0] in const:
            value = next((numpy_helper.to_array(a.t) for a in n.attribute if a.name == "value"), np.zeros(1, np.float32))
            const[n.output[0]] = np.zeros(tuple(const[n.input[0]]), value.dtype)
    stats = {name for n in g.node if n.op_type == "BatchNormalization" for name in n.input[3:5]}
    stats |= {name for n in g.node if n.op_type == "Clip" for name in n.input[1:]}
    return sum(v.size for k, v in const.items() if v.dtype.kind == "f" and k not in stats)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.parent.name if p.name == "model.onnx" else p.stem)
def test_inspect_json_matches_onnx(path):
    model = onnx.load(str(path))
    result = run_onyx("inspect", "--json", path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    inits = {t.name for t in model.graph.initializer}
    expected_inputs = [i for i in model.graph.input if i.name not in inits]
    assert [i["name"] for i in info["inputs"]] == [i.name for i in expected_inputs]
    assert [o["name"] for o in info["outputs"]] == [o.name for o in model.graph.output]
    for mine, theirs in zip(info["inputs"] + info["outputs"], list(expected_inputs) + list(model.graph.output)):
        dims = theirs.type.tensor_type.shape.dim
        assert mine["shape"] == [d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims]
        assert mine["dtype"] == str(onnx.helper.tensor_dtype_to_np_dtype(theirs.type.tensor_type.elem_type))
    assert info["ops"] == dict(Counter(n.op_type for n in model.graph.node))
    assert info["opset"]["ai.onnx"] == next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    assert info["parameters"] == independent_parameter_count(model)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.parent.name if p.name == "model.onnx" else p.stem)
def test_convert_round_trip_is_valid_and_bit_identical(path, tmp):
    out = tmp / "out.onnx"
    result = run_onyx("convert", path, "-o", out)
    assert result.returncode == 0, result.stderr
    written = onnx.load(str(out))
    onnx.checker.check_model(written, full_check=True)
    original = onnx.load(str(path))
    feeds = feed_inputs(original)
    expected = ort.InferenceSession(str(path)).run(None, feeds)
    actual = ort.InferenceSession(str(out)).run(None, feeds)
    for e, a in zip(expected, actual):
        assert e.dtype == a.dtype and e.shape == a.shape
        assert np.array_equal(e, a, equal_nan=True)


def test_convert_round_trip_preserves_every_field(tmp):
    """A model using metadata, doc strings, value_info, symbolic dims, subgraphs, functions and every
    attribute kind comes back equal as a protobuf message."""
    from onnx import TensorProto, helper
    then_graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y_then"])], "then",
                                   [], [helper.make_tensor_value_info("y_then", TensorProto.FLOAT, ["N", 4])])
    else_graph = helper.make_graph([helper.make_node("Neg", ["x"], ["y_else"])], "else",
                                   [], [helper.make_tensor_value_info("y_else", TensorProto.FLOAT, ["N", 4])])
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0, doc_string="sum all"),
        helper.make_node("Greater", ["s", "zero"], ["cond"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph, name="branch"),
        helper.make_node("LeakyRelu", ["y"], ["z"], alpha=0.25),
        helper.make_node("Concat", ["z", "z"], ["w"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "main",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("w", TensorProto.FLOAT, ["N", 8])],
        initializer=[helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])],
        value_info=[helper.make_tensor_value_info("s", TensorProto.FLOAT, [])],
        doc_string="graph doc",
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="test",
                              producer_version="1.0", doc_string="model doc", model_version=7)
    helper.set_model_props(model, {"author": "onyx", "empty": ""})
    source = tmp / "in.onnx"
    onnx.save(model, str(source))
    out = tmp / "out.onnx"
    assert run_onyx("convert", source, "-o", out).returncode == 0
    assert onnx.load(str(out)) == onnx.load(str(source))


def test_external_data_is_inlined_by_convert(tmp):
    from onnx import TensorProto, helper
    w = np.arange(4096, dtype=np.float32).reshape(64, 64)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
                              initializer=[numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    (tmp / "m").mkdir()
    onnx.save(model, str(tmp / "m" / "model.onnx"), save_as_external_data=True, location="weights.bin",
              size_threshold=0)
    info = json.loads(run_onyx("inspect", "--json", tmp / "m" / "model.onnx").stdout)
    assert info["parameters"] == 4096
    out = tmp / "inlined.onnx"
    assert run_onyx("convert", tmp / "m" / "model.onnx", "-o", out).returncode == 0
    loaded = onnx.load(str(out), load_external_data=False)
    assert loaded.graph.initializer[0].data_location == TensorProto.DEFAULT
    assert np.array_equal(numpy_helper.to_array(loaded.graph.initializer[0]), w)


def independent_macs(model):
    """MACs of Conv, ConvTranspose, Gemm, MatMul from the shapes onnxruntime actually computes, with
    every such node's inputs and output exposed as graph outputs (symbolic dims = 1)."""
    from onnx import helper
    probe = onnx.ModelProto.FromString(model.SerializeToString())
    heavy = [n for n in probe.graph.node if n.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul")]
    exposed = {o.name for o in probe.graph.output}
    for n in heavy:
        for name in list(n.input[:2]) + [n.output[0]]:
            if name not in exposed:
                probe.graph.output.append(helper.make_empty_tensor_value_info(name))
                exposed.add(name)
    feeds = {}
    for value in probe.graph.input:
        if value.name in {t.name for t in probe.graph.initializer}:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in value.type.tensor_type.shape.dim]
        feeds[value.name] = np.zeros(dims, helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type))
    names = [o.name for o in probe.graph.output]
    shapes = dict(zip(names, (r.shape for r in ort.InferenceSession(probe.SerializeToString()).run(None, feeds))))
    total = 0
    for n in heavy:
        out = shapes[n.output[0]]
        if n.op_type == "Conv":
            total += int(np.prod(out)) * int(np.prod(shapes[n.input[1]][1:]))
        elif n.op_type == "ConvTranspose":
            total += int(np.prod(shapes[n.input[0]])) * int(np.prod(shapes[n.input[1]][1:]))
        elif n.op_type == "Gemm":
            trans_a = next((a.i for a in n.attribute if a.name == "transA"), 0)
            a = shapes[n.input[0]]
            total += int(np.prod(out)) * (a[0] if trans_a else a[1])
        else:
            total += int(np.prod(out)) * shapes[n.input[0]][-1]
    return total


@pytest.mark.parametrize("path", shipped_models(), ids=lambda p: p.parent.name)
def test_inspect_macs_match_onnx_shape_inference(path):
    info = json.loads(run_onyx("inspect", "--json", path).stdout)
    assert info["macs"] == independent_macs(onnx.load(str(path)))


@pytest.mark.parametrize("name,published", [("resnet50", 4.09e9), ("densenet121", 2.83e9), ("squeezenet", 0.35e9)])
def test_inspect_macs_of_light_models_match_published_figures(name, published):
    info = json.loads(run_onyx("inspect", "--json", LIGHT_MODELS / f"light_{name}.onnx").stdout)
    assert abs(info["macs"] - published) / published < 0.01
