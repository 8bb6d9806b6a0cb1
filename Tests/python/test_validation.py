"""Load-time validation: every broken graph is refused when the model is loaded (before any input is
read), with one line naming the file and the node, and configurable resource limits."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import error_line, run_onyx

F = TensorProto.FLOAT


def value(name, shape=None):
    return helper.make_tensor_value_info(name, F, shape)


def ones(shape, name="w"):
    return numpy_helper.from_array(np.ones(shape, np.float32), name)


def ints(values, name):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def node(op, inputs, outputs, name, **attributes):
    return helper.make_node(op, inputs, outputs, name=name, **attributes)


X = value("x", [1, 4, 8, 8])

# name: (nodes, graph inputs, graph outputs, initializers, expected message after "Error: PATH: ")
CASES = {
    "dangling_input": ([node("Add", ["x", "nope"], ["y"], "add")], [X], ["y"], [],
                       "node 'add' (Add): input 'nope' is not produced by any node, initializer or graph input"),
    "output_never_produced": ([node("Relu", ["x"], ["y"], "r")], [X], ["z"], [],
                              "graph output 'z' is not produced by any node"),
    "cycle": ([node("Relu", ["b"], ["a"], "r1"), node("Relu", ["a"], ["b"], "r2")], [X], ["a"], [],
              "node 'r1' (Relu) is part of a cycle"),
    "duplicate_value_name": ([node("Relu", ["x"], ["y"], "r1"), node("Sigmoid", ["x"], ["y"], "r2")], [X], ["y"], [],
                             "node 'r2' (Sigmoid): output 'y' is already produced elsewhere"),
    "duplicate_graph_input": ([node("Relu", ["x"], ["y"], "r")], [X, X], ["y"], [],
                              "graph input 'x' is declared twice"),
    "duplicate_initializer": ([node("Add", ["x", "w"], ["y"], "add")], [X], ["y"], [ones([1]), ones([1])],
                              "initializer 'w' is declared twice"),
    "node_without_outputs": ([node("Relu", ["x"], ["y"], "r"), node("Relu", ["x"], [], "empty")], [X], ["y"], [],
                             "node 'empty' (Relu) has no outputs"),
    "attribute_of_wrong_type": ([node("Conv", ["x", "w"], ["y"], "c", strides=[1.5, 1.0])], [X], ["y"], [ones([4, 4, 3, 3])],
                                "node 'c' (Conv): attribute 'strides' should be INTS but is FLOATS"),
    "missing_required_attribute": ([node("Concat", ["x", "x"], ["y"], "cat")], [X], ["y"], [],
                                   "node 'cat' (Concat): missing required attribute 'axis'"),
    "missing_required_input": ([node("Gather", ["x"], ["y"], "g")], [X], ["y"], [],
                               "node 'g' (Gather): expects 2 inputs, got 1"),
    "group_not_dividing_channels": ([node("Conv", ["x", "w"], ["y"], "c", group=3)], [X], ["y"], [ones([3, 1, 3, 3])],
                                    "node 'c' (Conv): X has 4 channels but W [3, 1, 3, 3] with group 3 expects 3"),
    "weight_channels_mismatch": ([node("Conv", ["x", "w"], ["y"], "c")], [X], ["y"], [ones([4, 3, 3, 3])],
                                 "node 'c' (Conv): X has 4 channels but W [4, 3, 3, 3] with group 1 expects 3"),
    "group_not_dividing_outputs": ([node("Conv", ["x", "w"], ["y"], "c", group=2)], [X], ["y"], [ones([3, 2, 3, 3])],
                                   "node 'c' (Conv): group 2 does not divide the 3 output channels"),
    "conv_kernel_larger_than_input": ([node("Conv", ["x", "w"], ["y"], "c")], [X], ["y"], [ones([4, 4, 9, 9])],
                                      "node 'c' (Conv): the kernel is larger than the padded input [1, 4, 8, 8]"),
    "pool_kernel_larger_than_input": ([node("MaxPool", ["x"], ["y"], "p", kernel_shape=[9, 9])], [X], ["y"], [],
                                      "node 'p' (MaxPool): the kernel is larger than the padded input [1, 4, 8, 8]"),
    "zero_stride": ([node("Conv", ["x", "w"], ["y"], "c", strides=[0, 1])], [X], ["y"], [ones([4, 4, 3, 3])],
                    "node 'c' (Conv): strides must be positive, got [0, 1]"),
    "concat_axis_out_of_range": ([node("Concat", ["x", "x"], ["y"], "cat", axis=7)], [X], ["y"], [],
                                 "node 'cat' (Concat): axis 7 is out of range for rank 4"),
    "softmax_axis_out_of_range": ([node("Softmax", ["x"], ["y"], "sm", axis=-9)], [X], ["y"], [],
                                  "node 'sm' (Softmax): axis -9 is out of range for rank 4"),
    "unsqueeze_axis_out_of_range": ([node("Unsqueeze", ["x", "axes"], ["y"], "u")], [X], ["y"], [ints([9], "axes")],
                                    "node 'u' (Unsqueeze): axis 9 is out of range for rank 5"),
    "transpose_not_a_permutation": ([node("Transpose", ["x"], ["y"], "t", perm=[0, 1, 2, 2])], [X], ["y"], [],
                                    "node 't' (Transpose): perm [0, 1, 2, 2] is not a permutation of 4 axes"),
    "reshape_count_mismatch": ([node("Reshape", ["x", "s"], ["y"], "rs")], [X], ["y"], [ints([5, -1], "s")],
                               "node 'rs' (Reshape): cannot reshape [1, 4, 8, 8] (256 elements) to [5, -1]"),
    "reshape_without_minus_one": ([node("Reshape", ["x", "s"], ["y"], "rs")], [X], ["y"], [ints([2, 100], "s")],
                                  "node 'rs' (Reshape): cannot reshape [1, 4, 8, 8] (256 elements) to [2, 100]"),
    "split_sizes_mismatch": ([node("Split", ["x", "s"], ["y", "z"], "sp", axis=1)], [X], ["y", "z"], [ints([1, 1], "s")],
                             "node 'sp' (Split): split [1, 1] does not divide axis 1 of size 4 into 2 parts"),
    "gemm_inner_mismatch": ([node("Flatten", ["x"], ["f"], "flat"), node("Gemm", ["f", "w"], ["y"], "fc", transB=1)],
                            [X], ["y"], [ones([10, 100])],
                            "node 'fc' (Gemm): A [1, 256] and B [10, 100] do not agree (transA false, transB true)"),
    "matmul_inner_mismatch": ([node("MatMul", ["x", "w"], ["y"], "mm")], [X], ["y"], [ones([7, 3])],
                              "node 'mm' (MatMul): cannot multiply [1, 4, 8, 8] by [7, 3]"),
    "broadcast_mismatch": ([node("Add", ["x", "w"], ["y"], "add")], [X], ["y"], [ones([3])],
                           "node 'add' (Add): shapes [1, 4, 8, 8] and [3] cannot be broadcast together"),
    "batchnorm_parameter_size": ([node("BatchNormalization", ["x", "s", "s", "s", "s"], ["y"], "bn")], [X], ["y"], [ones([3], "s")],
                                 "node 'bn' (BatchNormalization): input 1 has shape [3], not one value per channel of X [1, 4, 8, 8]"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_graph_is_refused_at_load(tmp, case):
    nodes, inputs, outputs, initializers, message = CASES[case]
    graph = helper.make_graph(nodes, "g", inputs, [value(name) for name in outputs], initializer=initializers)
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    # No inputs are given: the error must come from loading, before any input is looked at.
    assert error_line(run_onyx("run", path)) == f"Error: {path}: {message}"


def test_a_model_with_a_symbolic_batch_is_checked_when_it_runs(tmp):
    """With a symbolic dim the shapes are only known at run: the check happens before the first run
    at those shapes, still naming the node."""
    graph = helper.make_graph([node("Conv", ["x", "w"], ["y"], "c")], "g", [value("x", ["batch", 4, 8, 8])], [value("y")],
                              initializer=[ones([2, 3, 1, 1])])
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    np.save(tmp / "x.npy", np.ones((2, 4, 8, 8), np.float32))
    assert error_line(run_onyx("run", path, "--input", f"x={tmp / 'x.npy'}")) == \
        "Error: node 'c' (Conv): X has 4 channels but W [2, 3, 1, 1] with group 1 expects 3"


def test_shapes_given_at_run_are_checked_before_the_fast_kernels(tmp):
    """[batch, 3] -> Reshape [2, -1] works for even batches only: batch 3 fails naming the node."""
    graph = helper.make_graph([node("Reshape", ["x", "s"], ["y"], "pairs")], "g", [value("x", ["batch", 3])], [value("y")],
                              initializer=[ints([2, -1], "s")])
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    for batch, ok in ((2, True), (3, False)):
        np.save(tmp / "x.npy", np.ones((batch, 3), np.float32))
        result = run_onyx("run", path, "--input", f"x={tmp / 'x.npy'}")
        if ok:
            assert result.returncode == 0, result.stderr
        else:
            assert error_line(result) == "Error: node 'pairs' (Reshape): cannot reshape [3, 3] (9 elements) to [2, -1]"


SQUEEZENET = "models/squeezenet1_1/model.onnx"


@pytest.mark.parametrize("option,message", [
    ("--max-file-size=1M", "the file is 2926792 bytes, over the limit of 1048576"),
    ("--max-depth=3", "invalid protobuf at byte 141 in ModelProto.GraphProto#7.NodeProto#1: messages nested deeper than 3 levels"),
    ("--max-nodes=10", "the model has more than 10 nodes"),
    ("--max-tensor-bytes=100K", "the model's tensors exceed the limit of 102400 bytes"),
    ("--max-tensor-elements=1000",
     "node '/features/features.0/Conv' (Conv): output shape [1, 64, 111, 111] has 788544 elements, over the limit of 1000"),
])
def test_limits_are_configurable_on_the_command_line(option, message):
    from conftest import ROOT
    path = ROOT / SQUEEZENET
    assert error_line(run_onyx("run", path, option)) == f"Error: {path}: {message}"
    # Reading limits apply to every command that reads a model; the element limit to those that run it.
    command = "inspect" if "elements" not in option else "bench"
    assert error_line(run_onyx(command, path, option)) == f"Error: {path}: {message}"


@pytest.mark.parametrize("option", ["--max-file-size=0", "--max-file-size=12Q", "--max-nodes=0", "--max-tensor-elements=-1"])
def test_bad_limit_values_are_refused(option):
    from conftest import ROOT
    result = run_onyx("run", ROOT / SQUEEZENET, option)
    assert result.returncode != 0 and "Usage: onyx run" in result.stderr


def test_run_time_allocations_respect_the_element_limit(tmp):
    """Expand's target shape comes from an input, so its size is only known at run."""
    graph = helper.make_graph([node("Expand", ["x", "shape"], ["y"], "grow")], "g",
                              [value("x", [1, 4]), helper.make_tensor_value_info("shape", TensorProto.INT64, [2])], [value("y")])
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    np.save(tmp / "x.npy", np.ones((1, 4), np.float32))
    np.save(tmp / "s.npy", np.array([100, 4], np.int64))
    args = ["--input", f"x={tmp / 'x.npy'}", "--input", f"shape={tmp / 's.npy'}"]
    assert run_onyx("run", path, *args).returncode == 0
    assert error_line(run_onyx("run", path, *args, "--max-tensor-elements", "300")) == \
        "Error: node 'grow' (Expand): output shape [100, 4] has 400 elements, over the limit of 300"
