#!/usr/bin/env python3
"""Writes the hostile cases of the foundation issue into the fuzzing seed corpus (Tests/fuzz/corpus),
so the fuzzers start from the shapes of attack we know: malformed varints and lengths, wrong wire types,
groups, truncation, tensor data that does not match its shape, hostile dims, unknown types and deep
subgraph nesting. Usage: python3 scripts/make-fuzz-seeds.py"""
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CORPUS = Path(__file__).resolve().parents[1] / "Tests" / "fuzz" / "corpus"


def small_model(w):
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], initializer=[w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def tensor(mutate):
    t = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    mutate(t)
    return small_model(t).SerializeToString()


def nested(depth):
    """If nodes nested `depth` deep: each then-branch holds the next level, each else-branch a leaf (two
    nested branches per level would double the file at every level)."""
    inner = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "leaf", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    leaf = inner
    for level in range(depth):
        node = helper.make_node("If", ["c"], ["y"], then_branch=inner, else_branch=leaf, name=f"if{level}")
        inner = helper.make_graph([node], f"g{level}", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(inner, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def seeds():
    valid = small_model(numpy_helper.from_array(np.ones((2, 2), np.float32), "w")).SerializeToString()
    yield "truncated", valid[: len(valid) // 2]
    yield "bad-varint", b"\x08" + b"\xff" * 11
    yield "length-past-end", b"\x3a\xe8\x07" + b"\x00" * 10
    yield "wrong-wire-type", b"\x38\x01"
    yield "group-wire-type", b"\x3b\x3c"
    yield "raw-data-too-short", tensor(lambda t: setattr(t, "raw_data", t.raw_data[:12]))
    yield "negative-dim", tensor(lambda t: t.dims.__setitem__(0, -1))
    yield "overflowing-dims", tensor(lambda t: (t.dims.__setitem__(0, 1 << 40), t.dims.__setitem__(1, 1 << 40)))
    yield "unknown-data-type", tensor(lambda t: setattr(t, "data_type", 99))
    yield "external-data-dot-dot", tensor(lambda t: (t.ClearField("raw_data"), setattr(t, "data_location", TensorProto.EXTERNAL),
                                                     t.external_data.add(key="location", value="../w.bin")))
    yield "deep-subgraphs", nested(30)


def valid_seeds():
    """Valid models for paths the hostile seeds do not reach: raw data over half the file, which
    decoding lifts out before protobuf-c sees the rest (LiftedRawData)."""
    w = numpy_helper.from_array(np.arange(1024, dtype=np.float32).reshape(32, 32) / 1024, "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32])], initializer=[w])
    yield "lifted-weights", helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


if __name__ == "__main__":
    for kind, generator in (("hostile", seeds), ("valid", valid_seeds)):
        for name, data in generator():
            (CORPUS / f"{kind}-{name}.onnx").write_bytes(data)
            print(f"wrote {kind}-{name}.onnx ({len(data)} bytes)")
