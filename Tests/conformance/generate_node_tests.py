#!/usr/bin/env python3
"""Writes the ONNX backend node tests for the operators Onyx supports, in the test-data layout:
OUT/<case>/model.onnx and OUT/<case>/test_data_set_0/{input,output}_K.pb.

The cases come from the `onnx` package's own generators (onnx.backend.test.case.node), so the
conformance suite is written by nobody here. Only single-node cases are taken (not the "_expanded"
function-body variants); the operator list is the runtime issue's.
"""
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, numpy_helper
from onnx.backend.test.case import node as node_cases

OPERATORS = {
    "Conv", "ConvTranspose", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "PRelu", "Sigmoid",
    "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Softplus", "Erf", "Exp", "Log", "Sqrt", "Pow",
    "Neg", "Abs", "Reciprocal", "Floor", "Add", "Sub", "Mul", "Div", "Sum", "Min", "Max", "Mean",
    "MatMul", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "AveragePool", "MaxPool", "LRN",
    "InstanceNormalization", "Concat", "Split", "Slice", "Reshape", "Flatten", "Transpose", "Squeeze",
    "Unsqueeze", "Expand", "Tile", "Gather", "Shape", "Constant", "ConstantOfShape", "Cast", "Identity",
    "Dropout", "Pad", "Resize", "Upsample", "Softmax", "LogSoftmax", "ReduceMean", "ReduceSum",
    "ReduceMax", "ArgMax", "DepthToSpace", "SpaceToDepth", "Where", "Equal", "Greater", "Less",
    "Ceil", "Round", "Sign", "Softsign", "Mish", "Celu", "ThresholdedRelu", "ReduceMin", "ReduceProd",
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMin", "LpPool",
}


def write_case(case, root: Path):
    folder = root / case.name
    data = folder / "test_data_set_0"
    data.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(case.model.SerializeToString())
    inputs, outputs = case.data_sets[0]
    graph = case.model.graph
    for kind, values, infos in (("input", inputs, graph.input), ("output", outputs, graph.output)):
        for k, (value, info) in enumerate(zip(values, infos)):
            proto = value if isinstance(value, TensorProto) else numpy_helper.from_array(value, info.name)
            (data / f"{kind}_{k}.pb").write_bytes(proto.SerializeToString())


def main(out: str):
    root = Path(out)
    count = 0
    # None: every operator (older onnx releases require the argument).
    for case in node_cases.collect_testcases(None):
        ops = {n.op_type for n in case.model.graph.node}
        if case.name.endswith("_expanded") or "_expanded_ver" in case.name or len(case.model.graph.node) != 1:
            continue
        if not ops <= OPERATORS:
            continue
        if any(not i.type.HasField("tensor_type") for i in list(case.model.graph.input) + list(case.model.graph.output)):
            continue  # sequences, maps and optionals are not CNN tensors
        write_case(case, root)
        count += 1
    print(f"wrote {count} node test cases to {root}")


if __name__ == "__main__":
    main(sys.argv[1])
