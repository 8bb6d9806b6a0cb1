"""`onyx run` and `onyx check`: real models against onnxruntime, input validation, load-time errors."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import ROOT, assert_close_to_scale, error_line, light_models, run_light_model, run_onyx, shipped_models

INTERESTING = {"Conv", "Gemm", "Concat", "Sum", "MaxPool", "AveragePool", "LRN", "BatchNormalization", "Relu"}


def test_shipped_models_pass_onyx_check():
    dirs = [p.parent for p in shipped_models()]
    assert len(dirs) >= 7
    result = run_onyx("check", *dirs)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(f"{len(dirs)} passed, 0 failed")


def test_check_json_reports_each_output():
    folder = shipped_models()[0].parent
    info = json.loads(run_onyx("check", "--json", folder).stdout)
    assert info["passed"] is True
    [entry] = info["results"]
    assert entry["data_set"] == "test_data_set_0"
    assert entry["outputs"][0]["passed"] and entry["outputs"][0]["max_abs_error"] < 1e-4


def test_check_fails_on_wrong_reference(tmp):
    folder = shipped_models()[0].parent
    target = tmp / "m"
    (target / "test_data_set_0").mkdir(parents=True)
    (target / "model.onnx").write_bytes((folder / "model.onnx").read_bytes())
    (target / "test_data_set_0" / "input_0.pb").write_bytes((folder / "test_data_set_0" / "input_0.pb").read_bytes())
    expected = numpy_helper.to_array(onnx.load_tensor(str(folder / "test_data_set_0" / "output_0.pb")))
    wrong = numpy_helper.from_array(expected + 0.1, "output")
    (target / "test_data_set_0" / "output_0.pb").write_bytes(wrong.SerializeToString())
    result = run_onyx("check", target)
    assert result.returncode == 1
    assert "FAIL" in result.stdout and result.stdout.strip().endswith("0 passed, 1 failed")


def test_check_given_a_model_file_says_it_takes_folders():
    model = shipped_models()[0]
    result = run_onyx("check", model)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"FAIL {model}: a file, not a folder holding model.onnx and test_data_set_N (to run a file alone: onyx run)")


def with_intermediate_outputs(model):
    """The model with every interesting node's output also exposed as a graph output."""
    existing = {o.name for o in model.graph.output}
    for node in model.graph.node:
        if node.op_type in INTERESTING and node.output[0] not in existing:
            model.graph.output.append(helper.make_empty_tensor_value_info(node.output[0]))
            existing.add(node.output[0])
    return model


@pytest.mark.parametrize("path", light_models(), ids=lambda p: p.stem)
def test_light_models_match_onnxruntime(path, tmp):
    model = with_intermediate_outputs(onnx.load(str(path)))
    expected, actual = run_light_model(model, tmp, seed=0)
    for info, e, a in zip(model.graph.output, expected, actual):
        assert a.name == info.name
        assert_close_to_scale(numpy_helper.to_array(a), e, what=info.name)


def two_input_model():
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"], name="add")], "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def save_npy(tmp, name, array):
    path = tmp / f"{name}.npy"
    np.save(path, array)
    return path


def test_run_adds_with_symbolic_batch(tmp):
    onnx.save(two_input_model(), str(tmp / "m.onnx"))
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    result = run_onyx("run", tmp / "m.onnx", "--input", f"a={save_npy(tmp, 'a', a)}", "--input", f"b={save_npy(tmp, 'b', a)}",
                      "--output-dir", tmp / "out")
    assert result.returncode == 0, result.stderr
    out = onnx.load_tensor(str(tmp / "out" / "output_0.pb"))
    assert out.name == "y"
    assert np.array_equal(numpy_helper.to_array(out), 2 * a)
    assert result.stdout.startswith("y: float32 [2, 3] min 0 max 10")


@pytest.mark.parametrize("feeds,message", [
    ({"a": np.zeros((2, 3), np.float32)}, "missing input 'b'"),
    ({"a": np.zeros((2, 3), np.float32), "b": np.zeros((2, 3), np.float32), "c": np.zeros(1, np.float32)},
     "unknown input 'c'; the model's inputs are: a, b"),
    ({"a": np.zeros((2, 3), np.int64), "b": np.zeros((2, 3), np.float32)}, "input 'a': expected float32, got int64"),
    ({"a": np.zeros((2, 4), np.float32), "b": np.zeros((2, 4), np.float32)}, "input 'a': expected shape [batch, 3], got [2, 4]"),
    ({"a": np.zeros((2, 3, 1), np.float32), "b": np.zeros((2, 3), np.float32)}, "input 'a': expected shape [batch, 3], got [2, 3, 1]"),
    ({"a": np.zeros((2, 3), np.float32), "b": np.zeros((4, 3), np.float32)},
     "input 'b': dimension 'batch' is 4 here but 2 in another input"),
])
def test_run_rejects_wrong_inputs(tmp, feeds, message):
    onnx.save(two_input_model(), str(tmp / "m.onnx"))
    args = [arg for name, value in feeds.items() for arg in ("--input", f"{name}={save_npy(tmp, name, value)}")]
    assert error_line(run_onyx("run", tmp / "m.onnx", *args)) == f"Error: {message}"


def test_run_rejects_malformed_input_option(tmp):
    onnx.save(two_input_model(), str(tmp / "m.onnx"))
    result = run_onyx("run", tmp / "m.onnx", "--input", "a")
    assert result.returncode != 0
    assert "--input takes NAME=PATH, got 'a'" in result.stderr


def test_unsupported_operator_fails_at_load(tmp):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="first"),
                               helper.make_node("NonMaxSuppression", ["r", "r"], ["y"], name="nms")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, [None, 3])])
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    # No inputs are given: the error must come from loading, before any input is looked at.
    assert error_line(run_onyx("run", path)) == \
        f"Error: {path}: node 'nms' (NonMaxSuppression): operator 'NonMaxSuppression' is not supported"


def test_run_time_kernel_error_names_the_node(tmp):
    graph = helper.make_graph([helper.make_node("Reshape", ["x", "shape"], ["y"], name="flatten_it")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
                               helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(tmp / "m.onnx"))
    x, shape = save_npy(tmp, "x", np.zeros((2, 3), np.float32)), save_npy(tmp, "s", np.array([5, -1], np.int64))
    assert error_line(run_onyx("run", tmp / "m.onnx", "--input", f"x={x}", "--input", f"shape={shape}")) == \
        "Error: node 'flatten_it' (Reshape): cannot reshape [2, 3] (6 elements) to [5, -1]"


def test_bench_json_reports_timings():
    path = next(p for p in shipped_models() if p.parent.name == "mobilenet_v3_small")
    result = run_onyx("bench", path, "--seconds", "0.2", "--warmup", "1", "--threads", "1", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    for key in ("median_ms", "p90_ms", "min_ms", "load_ms", "first_run_ms", "huge_pages_ms", "runs", "peak_memory_mb"):
        assert key in info
    assert info["runs"] >= 1 and 0 < info["min_ms"] <= info["median_ms"] <= info["p90_ms"]
    assert info["threads"] == 1
    assert info["load_ms"] > 0 and info["first_run_ms"] > 0 and info["warm_load_ms"] is None and info["huge_pages_ms"] >= 0


def test_bench_reloads_report_a_warm_load_time():
    path = next(p for p in shipped_models() if p.parent.name == "mobilenet_v3_small")
    info = json.loads(run_onyx("bench", path, "--seconds", "0.1", "--reloads", "3", "--json").stdout)
    assert info["warm_load_ms"] > 0


def test_bench_profile_lists_steps():
    path = next(p for p in shipped_models() if p.parent.name == "squeezenet1_1")
    out = run_onyx("bench", path, "--seconds", "0.2", "--profile").stdout
    assert "GFLOP/s" in out and "Conv" in out and "fast" in out


def test_bench_with_a_symbolic_batch(tmp):
    path = next(p for p in shipped_models() if p.parent.name == "shufflenet_v2_legacy")
    result = run_onyx("bench", path, "--seconds", "0.2", "--shape", "input=2,3,224,224", "--json")
    assert result.returncode == 0, result.stderr


def test_bench_alternates_variants():
    # Even a run shorter than one model run times every variant at least once.
    result = run_onyx("bench", shipped_models()[0], "--seconds", "0.001", "--variants", "3")
    assert result.returncode == 0, result.stderr
    lines = [l for l in result.stdout.splitlines() if l.startswith("variant ")]
    assert [l.split(":")[0] for l in lines] == ["variant 0", "variant 1", "variant 2"]
    assert all(re.search(r"over [1-9]\d* runs$", l) for l in lines), lines


def test_one_arena_runs_without_the_separated_layout():
    # At two threads a model also gets a separated arena layout (more memory); --one-arena leaves it out.
    path = next(p for p in shipped_models() if p.parent.name == "squeezenet1_1")
    peaks = []
    for flags in ([], ["--one-arena"]):
        result = run_onyx("bench", path, "--threads", "2", "--seconds", "0.2", *flags)
        assert result.returncode == 0, result.stderr
        peaks.append(float(re.search(r"peak memory ([0-9.]+) MB", result.stdout).group(1)))
    assert peaks[1] < peaks[0], peaks


def test_bench_slices_answer_each_line_then_summarise():
    # benchmarks/compare.py keeps one `bench --slices` process and asks it for short slices in turn
    # with onnxruntime: one median per line asked for, then the usual summary.
    path = next(p for p in shipped_models() if p.parent.name == "mobilenet_v3_small")
    result = run_onyx("bench", path, "--slices", "--json", "--threads", "1", input="0.05\n0.05\n0.05\n")
    assert result.returncode == 0, result.stderr
    *medians, summary = result.stdout.splitlines()
    assert len(medians) == 3 and all(float(m) > 0 for m in medians), medians
    info = json.loads(summary)
    assert info["runs"] >= 3 and info["min_ms"] <= min(map(float, medians))


@pytest.mark.parametrize("stdin,message", [
    ("0.05\nsoon\n", "--slices reads a positive number of seconds per line, got 'soon'"),
    ("-1\n", "--slices reads a positive number of seconds per line, got '-1'"),
    ("", "--slices: no slice was asked for on stdin"),
])
def test_bench_slices_reject_bad_lines(stdin, message):
    path = next(p for p in shipped_models() if p.parent.name == "mobilenet_v3_small")
    result = run_onyx("bench", path, "--slices", input=stdin)
    assert result.returncode != 0 and error_line(result) == f"Error: {message}", result.stderr


def test_accuracy_script_compares_with_onnxruntime():
    # benchmarks/accuracy.py, the benchmark models' accuracy check, on two shipped models.
    paths = [p for p in shipped_models() if p.parent.name in ("squeezenet1_1", "mobilenet_v3_small")]
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), *map(str, paths), "--threads", "1", "2"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(l.endswith("  ok") for l in lines), lines
    assert all(float(re.search(r"= ([0-9.e+-]+)", l).group(1)) <= 1e-4 for l in lines)


def test_compare_script_tags_rounds_by_the_cores_round_trip():
    # benchmarks/compare.py times a cache line's round trip between the cores (onyx-core-latency, built
    # beside onyx) around every round, and sorts the rounds into near, far and mixed.
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import compare
    latency = compare.core_latency()
    assert latency is not None and 0 < latency < 1e6, latency
    assert [compare.state(a, b) for a, b in [(90, 120), (340, 390), (90, 390), (220, 230), (None, 100)]] == \
        ["near", "far", "mixed", "mixed", None]
    ratios, states = [0.9, 1.1, 1.0, 0.8], ["near", "far", "near", "mixed"]
    assert compare.by_state(ratios, states, "near") == "0.95 (2)"
    assert compare.by_state(ratios, states, "far") == "1.10 (1)"
    assert compare.by_state(ratios, [None] * 4, "far") == "-"
    # The table opens with the CPU and the widest vectors it exposes, which pick both runtimes' kernels.
    with open("/proc/cpuinfo") as cpuinfo:
        flags = cpuinfo.read().split()
    widest = "avx512f" if "avx512f" in flags else "avx2" if "avx2" in flags else "sse only"
    assert re.fullmatch(rf"# cpu: .+, {os.cpu_count()} logical, widest vectors {widest}", compare.cpu_line()), compare.cpu_line()


def test_ab_script_times_two_builds_per_state():
    # benchmarks/ab.py: two onyx executables (here the same one twice) and onnxruntime in rounds tagged
    # by the probe; one line per state seen, each with both builds' times and their ratio.
    path = next(p for p in shipped_models() if p.parent.name == "mobilenet_v3_small")
    onyx = str(ROOT / ".build" / "release" / "onyx")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ab.py"), onyx, onyx, str(path), "--rounds", "2",
                             "--slice", "0.05"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    header, *states = result.stdout.splitlines()
    assert header == "model, 2 threads", header
    # (A round is unclassified only when the probe gave up, the other core taken for 2 s.)
    unclassified = ["no round could be classified (onyx-core-latency missing or gave up)"]
    assert states == unclassified or states and all(re.fullmatch(r"(near|far|mixed) +\( ?[12] rounds\): baseline [0-9.]+ ms \([0-9.]+\), changed [0-9.]+ ms "
                                       r"\([0-9.]+\), onnxruntime [0-9.]+ ms; changed / baseline [0-9.]+", l) for l in states), states
    missing = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ab.py"), "/nonexistent/onyx", onyx, str(path)],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and missing.stderr.splitlines()[-1] == "ab.py: error: no onyx executable at /nonexistent/onyx"


def test_ab_script_pins_to_one_cpu_and_tags_rounds_by_speed():
    # benchmarks/ab.py --pin CPU --by-speed: every process on one CPU, rounds split into fast and slow at
    # the widest gap (over 10%) between the baseline's sorted times, else all steady; a CPU the process
    # may not use is refused with one line.
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import ab
    rounds = [[6.0, 6.1, 7.0], [8.0, 8.2, 7.5], [6.2, 6.0, 6.9], [7.9, 8.0, 7.4]]
    assert ab.by_speed(rounds) == {"fast": [rounds[0], rounds[2]], "slow": [rounds[1], rounds[3]]}
    assert ab.by_speed([[6.0, 6.1, 7.0], [6.3, 6.2, 7.1]]) == {"steady": [[6.0, 6.1, 7.0], [6.3, 6.2, 7.1]]}
    path = next(p for p in shipped_models() if p.parent.name == "mobilenet_v3_small")
    onyx = str(ROOT / ".build" / "release" / "onyx")
    cpu = min(os.sched_getaffinity(0))
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ab.py"), onyx, onyx, str(path), "--threads", "1",
                             "--rounds", "2", "--slice", "0.05", "--pin", str(cpu), "--by-speed"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    header, *tags = result.stdout.splitlines()
    assert header == f"model, 1 threads, on CPU {cpu}", header
    assert tags and all(re.fullmatch(r"(fast|slow|steady) +\( ?[12] rounds\): baseline [0-9.]+ ms \([0-9.]+\), changed [0-9.]+ ms "
                                     r"\([0-9.]+\), onnxruntime [0-9.]+ ms; changed / baseline [0-9.]+", l) for l in tags), tags
    bad = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ab.py"), onyx, onyx, str(path), "--pin", "4096"],
                         capture_output=True, text=True, timeout=60)
    cpus = ", ".join(map(str, sorted(os.sched_getaffinity(0))))
    assert bad.returncode != 0 and bad.stderr.splitlines()[-1] == f"ab.py: error: --pin 4096: not one of this process's CPUs ({cpus})"


def test_hog_script_reports_its_bandwidth_and_rejects_bad_sizes():
    # benchmarks/hog.py, the cache-contention load for timing under a busy neighbour: a short run
    # prints what it copied; a size of zero is refused with one line.
    hog = str(ROOT / "benchmarks" / "hog.py")
    result = subprocess.run([sys.executable, hog, "--megabytes", "1", "--seconds", "0.1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.fullmatch(r"hog\.py: [1-9][0-9]* copies of 1 MB in 0\.[0-9] s, [0-9.]+ GB/s", result.stdout.strip()), result.stdout
    bad = subprocess.run([sys.executable, hog, "--megabytes", "0"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and bad.stderr.strip() == "hog.py: --megabytes must be in (0, 4096] and --seconds at least 0"


def test_layers_script_pairs_every_convolution_with_its_onnxruntime_node():
    # benchmarks/layers.py on the shipped SqueezeNet: its Fire modules' two expand convolutions share an
    # output shape, so pairing by shape alone could swap them; each Conv step must get the ORT node of
    # its own module and branch, in graph order.
    path = next(p for p in shipped_models() if p.parent.name == "squeezenet1_1")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "layers.py"), str(path), "--seconds", "0.5"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [l.split() for l in result.stdout.splitlines() if re.match(r"\s*\d+\s+Conv\s", l)]
    model = onnx.load(str(path))
    assert len(rows) == sum(n.op_type == "Conv" for n in model.graph.node)
    names = [r[-1] for r in rows]
    assert all(n.startswith("/") for n in names), names
    branches = [re.search(r"features\.(\d+)/(squeeze|expand1x1|expand3x3)", n) for n in names]
    fire = [(int(b[1]), b[2]) for b in branches if b]
    assert fire == sorted(fire, key=lambda f: (f[0], ["squeeze", "expand1x1", "expand3x3"].index(f[1]))), fire
    assert len(fire) == 3 * 8, fire


@pytest.mark.parametrize("args,message", [
    (["--threads", "0"], "--threads must be at least 1"),
    (["--shape", "input=1,x"], "--shape takes NAME=D1,D2,... with positive sizes, got 'input=1,x'"),
    (["--seconds", "0"], "--seconds and --variants must be positive, --warmup and --reloads not negative"),
    (["--reloads=-1"], "--seconds and --variants must be positive, --warmup and --reloads not negative"),
    (["--variants", "0"], "--seconds and --variants must be positive, --warmup and --reloads not negative"),
])
def test_bench_rejects_bad_options(args, message):
    result = run_onyx("bench", shipped_models()[0], *args)
    assert result.returncode != 0 and message in result.stderr


def test_run_and_check_take_threads():
    folder = shipped_models()[0].parent
    assert run_onyx("check", "--threads", "2", folder).returncode == 0
    assert run_onyx("check", "--threads", "0", folder).returncode != 0


def one_node_model(tmp, node, inputs, output_type=TensorProto.FLOAT, initializers=()):
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info(node.output[0], output_type, None)],
                              initializer=list(initializers))
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def run_both(tmp, path, x):
    """onyx's output (`onyx run`) and onnxruntime's for a model whose one input is x."""
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    result = run_onyx("run", path, "--input", f"x={save_npy(tmp, 'x', x)}", "--output-dir", tmp / "out")
    assert result.returncode == 0, result.stderr
    return numpy_helper.to_array(onnx.load_tensor(str(tmp / "out" / "output_0.pb"))), expected


def assert_step_kernel(path, op, kernel):
    """`bench --profile` lists the model's `op` step on the `kernel` kernel ("fast" or "reference")."""
    profile = run_onyx("bench", path, "--seconds", "0.05", "--warmup", "1", "--profile").stdout
    assert re.search(rf"{op} .* {kernel}$", profile, re.M), profile


@pytest.mark.parametrize("op,kernel,stride,pad,width,extra", [
    ("MaxPool", 2, 2, 0, 52, {}), ("AveragePool", 2, 2, 0, 40, {}), ("MaxPool", 2, 1, 0, 27, {}),
    ("MaxPool", 5, 1, 2, 20, {}), ("MaxPool", 5, 1, 2, 41, {"ceil_mode": 1}), ("AveragePool", 5, 2, 2, 40, {}),
    ("AveragePool", 3, 1, 1, 28, {}), ("AveragePool", 3, 1, 1, 29, {"count_include_pad": 1}), ("MaxPool", 3, 1, 1, 30, {}),
    ("MaxPool", 3, 2, 1, 112, {}), ("AveragePool", 3, 2, 0, 55, {"ceil_mode": 1}), ("MaxPool", 4, 2, 1, 33, {}),
])
def test_pools_match_onnxruntime(tmp, op, kernel, stride, pad, width, extra):
    """The release build's pooling kernels (windows unrolled by size, 2x2 stride 2 as a vector pair's even and
    odd lanes, 3x3 stride 2 in registers) against onnxruntime, on rows of whole vectors and a tail."""
    shape = [1, 6, width - 1, width]
    node = helper.make_node(op, ["x"], ["y"], name="pool", kernel_shape=[kernel] * 2, strides=[stride] * 2, pads=[pad] * 4, **extra)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)])
    x = np.random.default_rng(kernel * 1000 + width).standard_normal(shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert_close_to_scale(actual, expected, 1e-6, op)


@pytest.mark.parametrize("mode,attributes,scales,sizes,shape", [
    ("nearest", {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, [1, 1, 2, 2], None, [1, 5, 20, 20]),
    ("nearest", {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, [1, 1, 2, 2], None, [2, 3, 7, 13]),
    ("nearest", {}, [1, 1, 2, 3], None, [1, 4, 9, 11]),
    ("nearest", {"nearest_mode": "ceil"}, None, [1, 4, 17, 33], [1, 4, 9, 20]),
    ("nearest", {}, [1, 1, 0.5, 0.5], None, [1, 3, 16, 24]),
    ("linear", {"coordinate_transformation_mode": "pytorch_half_pixel"}, [1, 1, 2, 2], None, [1, 5, 20, 20]),
    ("linear", {"coordinate_transformation_mode": "align_corners"}, [1, 1, 2, 2], None, [1, 3, 11, 9]),
    ("linear", {}, None, [1, 4, 13, 37], [1, 4, 20, 16]),
    ("linear", {"coordinate_transformation_mode": "asymmetric"}, [1, 1, 0.5, 0.5], None, [1, 2, 18, 30]),
    ("cubic", {}, [1, 1, 2, 2], None, [1, 2, 6, 6]),
    ("cubic", {"coordinate_transformation_mode": "align_corners"}, None, [1, 3, 29, 17], [1, 3, 10, 21]),
    ("cubic", {"cubic_coeff_a": -0.5, "exclude_outside": 1}, [1, 1, 0.5, 0.75], None, [2, 2, 16, 20]),
    ("cubic", {"coordinate_transformation_mode": "asymmetric"}, [1, 1, 3, 3], None, [1, 4, 13, 9]),
])
def test_resize_matches_onnxruntime(tmp, mode, attributes, scales, sizes, shape):
    """The fast Resize (H and W only) against onnxruntime: YOLO's 2x nearest upsampling, PyTorch's
    bilinear, bicubic with and without excluded outside taps, odd sizes, downscaling."""
    inputs = ["x", "", "scales" if scales else "", "sizes" if sizes else ""]
    initializers = ([numpy_helper.from_array(np.array(scales, np.float32), "scales")] if scales else []) + \
                   ([numpy_helper.from_array(np.array(sizes, np.int64), "sizes")] if sizes else [])
    node = helper.make_node("Resize", inputs, ["y"], name="resize", mode=mode, **attributes)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)], initializers=initializers)
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert_close_to_scale(actual, expected, 1e-5, mode)
    assert_step_kernel(path, "Resize", "fast")


@pytest.mark.parametrize("shape,perm", [
    ([1, 3, 11, 20, 20], [0, 1, 3, 4, 2]),  # YOLO's head: 2-D transposes, edges of 3 rows
    ([2, 16, 9, 7], [0, 2, 3, 1]),  # NCHW to NHWC, whole 8x8 blocks and edges
    ([1, 4, 6, 8, 5], [0, 2, 1, 3, 4]),  # channel shuffle: runs copied whole
    ([3, 1, 5, 7], [3, 1, 0, 2]),  # the size-1 axis dropped, the rest merged: a 2-D transpose
    ([2, 3, 4], None),  # no perm: the axes reversed, a gather
])
def test_transpose_matches_onnxruntime(tmp, shape, perm):
    """The fast Transpose's three loops (runs, blocked 2-D transposes, a gather) against onnxruntime."""
    node = helper.make_node("Transpose", ["x"], ["y"], name="transpose", **({"perm": perm} if perm else {}))
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)])
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert actual.shape == expected.shape and np.array_equal(actual, expected)
    assert_step_kernel(path, "Transpose", "fast")


@pytest.mark.parametrize("op,shape,axis,opset", [
    ("Softmax", [1, 300, 21], -1, 13),  # SSD's class scores: rows of two vectors and a tail
    ("Softmax", [2, 1000], 1, 13),  # a classifier
    ("Softmax", [3, 5], -1, 13),  # rows shorter than a vector
    ("Softmax", [2, 3, 4], 1, 11),  # opset 11 coerces to 2-D: rows of 12
    ("Softmax", [2, 8, 1, 1], 1, 13),  # trailing axes of size 1
    ("Softmax", [2, 6, 5], 1, 13),  # a middle axis, strided: positions one at a time
    ("Softmax", [1, 21, 9, 11], 1, 13),  # a segmentation head's classes: eight positions at a time and a tail
    ("LogSoftmax", [2, 37], -1, 13),
    ("LogSoftmax", [1, 10, 4, 5], 1, 13),
    ("LogSoftmax", [2, 3, 4], 1, 11),
])
def test_softmax_matches_onnxruntime(tmp, op, shape, axis, opset):
    node = helper.make_node(op, ["x"], ["y"], name="softmax", axis=axis)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    x = (np.random.default_rng(len(shape)).standard_normal(shape) * 4).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert_close_to_scale(actual, expected, 1e-6, op)
    assert_step_kernel(path, op, "fast")


@pytest.mark.parametrize("op,shape,extra", [
    ("AveragePool", [1, 40, 7, 7], {}), ("MaxPool", [2, 3, 5, 3], {"strides": [2, 2]}), ("AveragePool", [1, 4, 6, 6], {"ceil_mode": 1}),
])
def test_whole_plane_pools_become_global_pools(tmp, op, shape, extra):
    """A pool whose window is the whole plane runs as global pooling (the optimizer's whole-plane-pool)."""
    node = helper.make_node(op, ["x"], ["y"], name="pool", kernel_shape=shape[2:], **extra)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)])
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert_close_to_scale(actual, expected, 1e-6, op)
    assert_step_kernel(path, "Global" + op, "fast")


@pytest.mark.parametrize("x_shape,w_shape,kernel", [([3, 64], [64, 10], "fast"), ([1, 1024], [1024, 1000], "fast"),
                                                    ([2, 3, 16], [16, 5], "fast"), ([2, 4, 3, 16], [16, 5], "fast")])
def test_matmul_by_constant_weights_matches_onnxruntime(tmp, x_shape, w_shape, kernel):
    """MatMul of rows by constant weights (PaddlePaddle's classifiers) runs on the dense kernel."""
    w = numpy_helper.from_array(np.random.default_rng(1).standard_normal(w_shape).astype(np.float32), "w")
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)], initializers=[w])
    x = np.random.default_rng(2).standard_normal(x_shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert_close_to_scale(actual, expected, 1e-5, "matmul")
    assert_step_kernel(path, "MatMul", kernel)


@pytest.mark.parametrize("op,shape,attributes,weights", [
    ("Conv", [1, 32, 100], {"pads": [1, 1]}, [64, 32, 3]),  # keyword-spotting and TCN blocks
    ("Conv", [2, 12, 41], {"strides": [2], "dilations": [2], "pads": [3, 1], "group": 3}, [9, 4, 4]),
    ("Conv", [1, 16, 57], {"group": 16, "pads": [2, 2]}, [16, 1, 5]),
    ("MaxPool", [1, 8, 99], {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}, None),
    ("AveragePool", [2, 5, 30], {"kernel_shape": [4], "strides": [3], "pads": [1, 2], "count_include_pad": 1}, None),
])
def test_one_dimensional_windows_match_onnxruntime(tmp, op, shape, attributes, weights):
    """1-D Conv and pools ([N, C, L]) run on the 2-D kernels with planes one row high."""
    inputs, initializers = ["x"], []
    if weights:
        inputs.append("w")
        initializers.append(numpy_helper.from_array(np.random.default_rng(4).standard_normal(weights).astype(np.float32), "w"))
    node = helper.make_node(op, inputs, ["y"], name="op", **attributes)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)], initializers=initializers)
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert actual.shape == expected.shape
    assert_close_to_scale(actual, expected, 1e-5, op)
    assert_step_kernel(path, op, "fast")


@pytest.mark.parametrize("a_shape,b_shape", [
    ([1, 4, 37, 24], [1, 4, 24, 37]),  # attention scores per head
    ([3, 8, 40], [1, 40, 9]),  # one B for the batch: A's matrices as one taller matrix
    ([2, 1, 6, 10], [1, 3, 10, 21]),  # batch axes broadcast both ways
    ([1, 128, 256], [256, 96]),  # one matrix, its columns shared by the threads
    ([19], [19, 33]), ([5, 7, 19], [19]),  # a 1-D A is a row, a 1-D B a column
])
def test_matmul_of_computed_tensors_matches_onnxruntime(tmp, a_shape, b_shape):
    """MatMul of two graph inputs (neither constant) on the batched GEMM kernel against onnxruntime."""
    node = helper.make_node("MatMul", ["a", "b"], ["y"], name="matmul")
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("a", TensorProto.FLOAT, a_shape),
                                      helper.make_tensor_value_info("b", TensorProto.FLOAT, b_shape)])
    rng = np.random.default_rng(len(a_shape) + len(b_shape))
    feeds = {"a": rng.standard_normal(a_shape).astype(np.float32), "b": rng.standard_normal(b_shape).astype(np.float32)}
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    result = run_onyx("run", path, *[arg for name, value in feeds.items() for arg in ("--input", f"{name}={save_npy(tmp, name, value)}")],
                      "--output-dir", tmp / "out")
    assert result.returncode == 0, result.stderr
    actual = numpy_helper.to_array(onnx.load_tensor(str(tmp / "out" / "output_0.pb")))
    assert actual.shape == expected.shape
    assert_close_to_scale(actual, expected, 1e-5, "matmul")
    assert_step_kernel(path, "MatMul", "fast")


@pytest.mark.parametrize("a_shape,x_shape", [([24, 50], [2, 50, 37]), ([1, 7, 16], [16, 300]), ([9], [3, 9, 20])])
def test_matmul_by_constant_left_matrix_matches_onnxruntime(tmp, a_shape, x_shape):
    """MatMul of a constant A (packed once) by computed matrices: the batched GEMM kernel with its A prepacked."""
    a = numpy_helper.from_array(np.random.default_rng(1).standard_normal(a_shape).astype(np.float32), "a")
    node = helper.make_node("MatMul", ["a", "x"], ["y"], name="matmul")
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)], initializers=[a])
    x = np.random.default_rng(2).standard_normal(x_shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert actual.shape == expected.shape
    assert_close_to_scale(actual, expected, 1e-5, "matmul")
    assert_step_kernel(path, "MatMul", "fast")


@pytest.mark.parametrize("shape,starts,ends,axes,steps", [
    ([1, 116, 28, 28], [58], [116], [1], None),  # ShuffleNetV2's channel split: runs copied whole
    ([1, 3, 32, 32], [0, 1], [32, 32], [2, 3], [2, 2]),  # YOLOv5's Focus: every other row and column
    ([2, 5, 7, 9], [-1, 6], [-100, 1], [-1, 2], [-2, -1]),  # negative axes, starts and steps
    ([1, 4, 6, 10], [1, 2], [1000, 9], [1, 3], None),  # an end past the axis, clamped
])
def test_slice_matches_onnxruntime(tmp, shape, starts, ends, axes, steps):
    """The fast Slice (the reference kernel's walk, contiguous runs copied whole) against onnxruntime."""
    names = ["starts", "ends", "axes"] + (["steps"] if steps else [])
    initializers = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in zip(names, [starts, ends, axes, steps])]
    node = helper.make_node("Slice", ["x"] + names, ["y"], name="slice")
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)], initializers=initializers)
    x = np.random.default_rng(len(starts)).standard_normal(shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert actual.shape == expected.shape and np.array_equal(actual, expected)
    assert_step_kernel(path, "Slice", "fast")


@pytest.mark.parametrize("shape,axis,sizes", [
    ([1, 116, 28, 28], 1, None),  # ShuffleNetV2's channel split of a graph input (not a view): blocks copied whole
    ([2, 6, 5, 7], 1, [1, 2, 3]),  # batch 2: one run per image and part
    ([1, 4, 9, 8], 2, [2, 7]),  # rows
    ([1, 3, 10, 12], -1, [4, 5, 3]),  # columns, a negative axis
])
def test_split_matches_onnxruntime(tmp, shape, axis, sizes):
    """The fast Split (one strided copy per output) against onnxruntime, every output compared exactly."""
    count = len(sizes) if sizes else 2
    names = [f"y{i}" for i in range(count)]
    inputs, initializers = ["x"], []
    if sizes:
        inputs.append("split")
        initializers.append(numpy_helper.from_array(np.array(sizes, np.int64), "split"))
    node = helper.make_node("Split", inputs, names, name="split", axis=axis)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names], initializer=initializers)
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    x = np.random.default_rng(count).standard_normal(shape).astype(np.float32)
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    result = run_onyx("run", path, "--input", f"x={save_npy(tmp, 'x', x)}", "--output-dir", tmp / "out")
    assert result.returncode == 0, result.stderr
    for i, want in enumerate(expected):
        got = numpy_helper.to_array(onnx.load_tensor(str(tmp / "out" / f"output_{i}.pb")))
        assert got.shape == want.shape and np.array_equal(got, want), names[i]
    assert_step_kernel(path, "Split", "fast")


@pytest.mark.parametrize("op,shapes,attributes", [
    ("Add", [[1, 16, 9, 11], [1, 1, 9, 11]], {}),  # CBAM's spatial gate
    ("Mul", [[1, 16, 9, 11], [11]], {}),  # a row of scales along the last axis
    ("Sub", [[3, 1, 5], [2, 4, 3, 7, 5]], {}),  # the smaller operand first, output larger than both
    ("Div", [[1, 3, 1, 5], [2, 1, 4, 1]], {}),  # both operands broadcast
    ("PRelu", [[1, 16, 9, 11], [16, 1, 1]], {}),
    ("Max", [[2, 3, 4, 5], [3, 1, 5]], {}),
    ("Min", [[2, 3, 4, 5], [1]], {}),
    ("Sum", [[2, 3, 4, 5], [4, 5], [2, 3, 1, 1]], {}),
    ("Mean", [[1, 8, 6, 6], [1, 8, 6, 6], [1, 8, 1, 6]], {}),
])
def test_broadcasting_elementwise_matches_onnxruntime(tmp, op, shapes, attributes):
    """The fast broadcasting kernel (operand strides, axes merged, one run innermost) against onnxruntime."""
    names = [f"x{i}" for i in range(len(shapes))]
    node = helper.make_node(op, names, ["y"], name="op", **attributes)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in zip(names, shapes)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    rng = np.random.default_rng(len(shapes))
    feeds = {n: (rng.standard_normal(s) + (3 if op == "Div" else 0)).astype(np.float32) for n, s in zip(names, shapes)}
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    inputs = [arg for n, x in feeds.items() for arg in ("--input", f"{n}={save_npy(tmp, n, x)}")]
    result = run_onyx("run", path, *inputs, "--output-dir", tmp / "out")
    assert result.returncode == 0, result.stderr
    actual = numpy_helper.to_array(onnx.load_tensor(str(tmp / "out" / "output_0.pb")))
    assert actual.shape == expected.shape
    assert_close_to_scale(actual, expected, 1e-6, op)
    assert_step_kernel(path, op, "fast")


@pytest.mark.parametrize("op,attributes", [
    ("Sqrt", {}), ("Abs", {}), ("Neg", {}), ("Reciprocal", {}), ("Exp", {}), ("Elu", {"alpha": 0.7}), ("Selu", {}),
    ("Celu", {"alpha": 1.5}), ("Softplus", {}), ("Softsign", {}), ("Log", {}), ("Floor", {}), ("Ceil", {}), ("Round", {}),
    ("Sign", {}), ("Erf", {}),
])
def test_unary_functions_match_onnxruntime(tmp, op, attributes):
    """The vectorised unary kernels against onnxruntime, elementwise to a few float32 ulps, on 3x5x7 (a tail
    of 1 after whole vectors) with the extremes of each function's range: exp overflowing to infinity and
    underflowing, softplus far out on both sides, log's zero, negatives, subnormals and infinity, rounding's
    ties."""
    shape = [3, 5, 7]
    node = helper.make_node(op, ["x"], ["y"], name="op", **attributes)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)])
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32) * 3
    x.flat[:6] = [-100, -20, 0, 20, 89, 100]
    if op in ("Sqrt",):
        x = np.abs(x)
    if op == "Exp":
        x.flat[4:6] = [88, 89]  # the last finite result, and infinity
    if op == "Log":
        x.flat[6:12] = [1e-40, 1e-45, np.inf, 1, 0.999, 1.001]
    if op in ("Round", "Floor", "Ceil", "Sign"):
        x.flat[6:14] = [0.5, 1.5, 2.5, -0.5, -2.5, -0.0, 1e-3, -7]
    actual, expected = run_both(tmp, path, x)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=4e-6, atol=1e-30 if op == "Exp" else 1e-6, err_msg=op)
    assert_step_kernel(path, op, "fast")


def _int64s(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


@pytest.mark.parametrize("case,shape,make,opset", [
    ("pad", [1, 6, 7, 9], lambda: (helper.make_node("Pad", ["x", "p"], ["y"], name="op"), [_int64s("p", [0, 0, 1, 2, 0, 0, 2, 1])]), 13),
    ("pad value, crop", [2, 3, 8, 5], lambda: (helper.make_node("Pad", ["x", "p", "v"], ["y"], name="op"),
                                              [_int64s("p", [0, 1, -2, 3, 0, 2, -1, -4]), numpy_helper.from_array(np.array(1.5, np.float32), "v")]), 13),
    ("pad axes", [3, 4, 5], lambda: (helper.make_node("Pad", ["x", "p", "", "a"], ["y"], name="op"), [_int64s("p", [2, 1, 0, 3]), _int64s("a", [-1, 0])]), 18),
    ("pad reflect", [1, 3, 9, 12], lambda: (helper.make_node("Pad", ["x", "p"], ["y"], name="op", mode="reflect"), [_int64s("p", [0, 0, 3, 3, 0, 0, 3, 3])]), 13),
    ("pad edge, crop", [2, 3, 6, 7], lambda: (helper.make_node("Pad", ["x", "p"], ["y"], name="op", mode="edge"), [_int64s("p", [0, 1, 2, -1, 0, 0, -2, 4])]), 13),
    ("pad wrap", [2, 5, 4], lambda: (helper.make_node("Pad", ["x", "p", "", "a"], ["y"], name="op", mode="wrap"), [_int64s("p", [1, 3, 2, 1]), _int64s("a", [1, 2])]), 19),
    ("expand", [1, 16, 1, 1], lambda: (helper.make_node("Expand", ["x", "s"], ["y"], name="op"), [_int64s("s", [1, 16, 9, 11])]), 13),
    ("expand rows", [3, 1], lambda: (helper.make_node("Expand", ["x", "s"], ["y"], name="op"), [_int64s("s", [2, 3, 4])]), 13),
    ("expand rank", [5], lambda: (helper.make_node("Expand", ["x", "s"], ["y"], name="op"), [_int64s("s", [2, 3, 1])]), 13),
    ("tile", [2, 3, 4], lambda: (helper.make_node("Tile", ["x", "r"], ["y"], name="op"), [_int64s("r", [2, 1, 3])]), 13),
    ("depth to space", [1, 12, 5, 7], lambda: (helper.make_node("DepthToSpace", ["x"], ["y"], name="op", blocksize=2), []), 13),
    ("depth to space crd", [2, 18, 3, 4], lambda: (helper.make_node("DepthToSpace", ["x"], ["y"], name="op", blocksize=3, mode="CRD"), []), 13),
    ("space to depth", [1, 3, 8, 6], lambda: (helper.make_node("SpaceToDepth", ["x"], ["y"], name="op", blocksize=2), []), 13),
])
def test_data_movement_matches_onnxruntime(tmp, case, shape, make, opset):
    """Pad (constant mode as a fill and a block copy, the others as maps of indices), Expand, Tile,
    DepthToSpace and SpaceToDepth as strided copies, compared exactly."""
    node, initializers = make()
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=initializers)
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    x = np.random.default_rng(len(case)).standard_normal(shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert actual.shape == expected.shape and np.array_equal(actual, expected), case
    assert_step_kernel(path, node.op_type, "fast")


@pytest.mark.parametrize("op,shape,axes,keepdims", [
    ("ReduceMean", [1, 16, 9, 11], [1], 1),  # CBAM: over channels, rows of whole vectors and a tail
    ("ReduceMax", [1, 16, 9, 11], [1], 0),
    ("ReduceSum", [2, 3, 37], [-1], 1),  # runs along the last axis
    ("ReduceMin", [3, 4, 5, 6], [0, 2], 1),  # kept and reduced axes alternating
    ("ReduceL2", [1, 16, 5, 5], [1], 1),  # SSD's L2 norm
    ("ReduceSumSquare", [2, 5, 3], None, 0),  # every axis
    ("ReduceMean", [2, 3, 4, 5], [1, 3], 0),
    ("ReduceL1", [2, 6, 7], [1], 1),
    ("ReduceProd", [2, 3, 10], [-1], 0),
    ("ReduceLogSum", [1, 16, 5, 5], [1], 1),
])
def test_reductions_match_onnxruntime(tmp, op, shape, axes, keepdims):
    """The fast reductions (axes merged, rows folded in vectors) against onnxruntime."""
    initializers, inputs, attributes = [], ["x"], {"keepdims": keepdims}
    if axes is not None and op == "ReduceSum":  # an input from opset 13 on
        inputs.append("axes")
        initializers.append(_int64s("axes", axes))
    elif axes is not None:
        attributes["axes"] = axes
    node = helper.make_node(op, inputs, ["y"], name="op", **attributes)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)], initializers=initializers)
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    if op == "ReduceLogSum":
        x = np.abs(x)
    actual, expected = run_both(tmp, path, x)
    assert actual.shape == expected.shape
    assert_close_to_scale(actual, expected, 1e-6, op)
    assert_step_kernel(path, op, "fast")


@pytest.mark.parametrize("shape,w_shape,attributes,bias", [
    ([1, 16, 7, 9], [16, 8, 2, 2], {"strides": [2, 2]}, True),  # learned 2x upsampling, no overlap
    ([2, 8, 5, 6], [8, 6, 4, 4], {"strides": [2, 2], "pads": [1, 1, 1, 1]}, True),  # overlapping taps
    ([1, 6, 9, 10], [6, 5, 3, 3], {"pads": [1, 2, 1, 0], "dilations": [2, 2]}, False),
    ([1, 8, 6, 7], [8, 3, 3, 3], {"strides": [2, 2], "group": 2, "output_padding": [1, 0], "pads": [1, 1, 1, 1]}, True),
    ([1, 4, 10], [4, 5, 3], {"strides": [2]}, True),  # 1-D
    ([1, 5, 6, 6], [5, 4, 3, 3], {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, False),
    ([1, 5, 6, 6], [5, 4, 3, 3], {"strides": [3, 2], "output_shape": [17, 12]}, True),
])
def test_conv_transpose_matches_onnxruntime(tmp, shape, w_shape, attributes, bias):
    """The fast ConvTranspose (a GEMM with packed W^T, then the column rows added into the output) against
    onnxruntime, over strides, overlapping taps, dilation, groups, output padding, SAME and output_shape."""
    rng = np.random.default_rng(len(attributes))
    group = attributes.get("group", 1)
    initializers = [numpy_helper.from_array(rng.standard_normal(w_shape).astype(np.float32), "w")]
    if bias:
        initializers.append(numpy_helper.from_array(rng.standard_normal(w_shape[1] * group).astype(np.float32), "b"))
    node = helper.make_node("ConvTranspose", ["x", "w"] + (["b"] if bias else []), ["y"], name="op", **attributes)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)], initializers=initializers)
    x = rng.standard_normal(shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert actual.shape == expected.shape
    assert_close_to_scale(actual, expected, 1e-5, "ConvTranspose")
    assert_step_kernel(path, "ConvTranspose", "fast")


@pytest.mark.parametrize("activation", ["Elu", "Selu", "Celu", "Softplus", "ThresholdedRelu", "Mish", "SoftplusTanhMul"])
def test_exponential_activations_fuse_into_fast_convolutions(tmp, activation):
    """Conv followed by each activation of the exponential family (and Mish spelled as x * tanh(softplus(x)),
    as exports below opset 18 write it) runs as one fast Conv step, against onnxruntime; `convert --optimize`
    writes the fused Mish back as standard ops onnxruntime runs unchanged."""
    rng = np.random.default_rng(11)
    initializers = [numpy_helper.from_array(rng.standard_normal((8, 6, 3, 3)).astype(np.float32) * 0.4, "w"),
                    numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1])]
    if activation == "SoftplusTanhMul":
        nodes += [helper.make_node("Softplus", ["c"], ["s"]), helper.make_node("Tanh", ["s"], ["t"]), helper.make_node("Mul", ["c", "t"], ["y"])]
    else:
        nodes.append(helper.make_node(activation, ["c"], ["y"], **({"alpha": 0.4} if activation == "ThresholdedRelu" else {})))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 9, 11])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=initializers)
    path = tmp / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18 if activation == "Mish" else 13)]), str(path))
    x = rng.standard_normal([1, 6, 9, 11]).astype(np.float32) * 2
    actual, expected = run_both(tmp, path, x)
    assert_close_to_scale(actual, expected, 1e-5, activation)
    profile = run_onyx("bench", path, "--seconds", "0.05", "--warmup", "1", "--profile").stdout
    assert len(re.findall(r"^ +\d+ ", profile, re.M)) == 1 and re.search(r"Conv .* fast$", profile, re.M), profile
    if activation == "SoftplusTanhMul":
        out = tmp / "converted.onnx"
        assert run_onyx("convert", "--optimize", path, "-o", out).returncode == 0
        converted = onnx.load(str(out))
        onnx.checker.check_model(converted, full_check=True)
        assert "Mish" not in [n.op_type for n in converted.graph.node]
        rerun = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        assert_close_to_scale(rerun, expected, 1e-5, "converted")


@pytest.mark.parametrize("shape,attributes", [
    ([1, 16, 9, 11], {"size": 5}),  # AlexNet's and GoogLeNet's: alpha 1e-4, beta 0.75, bias 1
    ([2, 7, 5, 8], {"size": 3, "alpha": 0.5, "beta": 0.6, "bias": 2.0}),
    ([1, 3, 1, 13], {"size": 7, "alpha": 2.0, "beta": 1.3, "bias": 0.5}),  # a window wider than the channels

])
def test_lrn_matches_onnxruntime(tmp, shape, attributes):
    """The fast LRN (squares summed over the channel window eight pixels at a time, the power as exp of
    beta times a vector logarithm) against onnxruntime, which takes odd windows on 4-D inputs only (an even
    one is checked against the reference kernel in FastKernelTests)."""
    node = helper.make_node("LRN", ["x"], ["y"], name="op", **attributes)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)])
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32) * 3
    actual, expected = run_both(tmp, path, x)
    np.testing.assert_allclose(actual, expected, rtol=2e-6, atol=1e-7)
    assert_step_kernel(path, "LRN", "fast")


@pytest.mark.parametrize("exponent", [2.0, 3.0, 0.5, -1.0, 1.7, -2.5, 4.0, 5.0, -3.0, 0.0])
def test_pow_by_constant_exponents_matches_onnxruntime(tmp, exponent):
    """Pow by a constant: 2, 3, 0.5 and -1 exactly, others through e^(e ln|x|) with pow's signs and special
    values (negative bases, zeros of both signs, infinities, NaN, results past float's range)."""
    node = helper.make_node("Pow", ["x", "e"], ["y"], name="op")
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 13])],
                          initializers=[numpy_helper.from_array(np.array(exponent, np.float32), "e")])
    x = (np.random.default_rng(4).standard_normal([2, 5, 13]) * 2).astype(np.float32)
    if exponent == 0.5:
        x = np.abs(x)
    x.flat[:8] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, 1e-30, -1.0]
    actual, expected = run_both(tmp, path, x)
    np.testing.assert_allclose(actual, expected, rtol=4e-6, atol=1e-37, err_msg=str(exponent))
    assert_step_kernel(path, "Pow", "fast")


@pytest.mark.parametrize("shape,indices,axis", [
    ([1, 16, 5, 7], np.array([0, 3, -1, 3, 8], np.int64), 1),  # channels picked, one twice, one from the end
    ([6, 4], np.array([[5, 0], [2, 2]], np.int64), 0),  # 2-D indices
    ([2, 3, 9], np.array(-2, np.int64), -1),  # a scalar index drops the axis
])
def test_gather_by_constant_indices_matches_onnxruntime(tmp, shape, indices, axis):
    node = helper.make_node("Gather", ["x", "i"], ["y"], name="op", axis=axis)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          initializers=[numpy_helper.from_array(indices, "i")])
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    actual, expected = run_both(tmp, path, x)
    assert actual.shape == expected.shape and np.array_equal(actual, expected)
    assert_step_kernel(path, "Gather", "fast")


def test_instance_normalization_matches_onnxruntime(tmp):
    rng = np.random.default_rng(8)
    node = helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], name="op", epsilon=1e-3)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 7, 9])],
                          initializers=[numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), "s"),
                                        numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), "b")])
    x = (rng.standard_normal([2, 5, 7, 9]) * 3 + 10).astype(np.float32)  # a large mean: the variance's second pass
    actual, expected = run_both(tmp, path, x)
    assert_close_to_scale(actual, expected, 1e-5, "InstanceNormalization")
    assert_step_kernel(path, "InstanceNormalization", "fast")


@pytest.mark.parametrize("op,shape,axis,keepdims,last", [
    ("ArgMax", [1, 21, 9, 11], 1, 1, 0),  # a segmentation head's class map: eight positions at a time and a tail
    ("ArgMin", [2, 5, 13], -1, 0, 1),  # along contiguous rows, ties to the last index
    ("ArgMax", [3, 4, 8], 0, 0, 1),
])
def test_arg_extremum_matches_onnxruntime(tmp, op, shape, axis, keepdims, last):
    """ArgMax and ArgMin (int64 outputs) against onnxruntime, exactly, on values with ties."""
    node = helper.make_node(op, ["x"], ["y"], name="op", axis=axis, keepdims=keepdims, select_last_index=last)
    path = one_node_model(tmp, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)], output_type=TensorProto.INT64)
    x = np.round(np.random.default_rng(2).standard_normal(shape) * 2).astype(np.float32)  # few distinct values: ties
    actual, expected = run_both(tmp, path, x)
    assert actual.dtype == np.int64 and actual.shape == expected.shape and np.array_equal(actual, expected)
    assert_step_kernel(path, op, "fast")


@pytest.mark.parametrize("case", ["constant_of_shape", "tile", "reshape", "expand", "resize", "pad", "conv_window"])
def test_hostile_values_give_errors_not_crashes(tmp, case):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
    feeds = {"x": np.zeros((1, 2, 4, 4), np.float32)}
    big = numpy_helper.from_array(np.array([1 << 40, 1 << 40], np.int64), "big")
    if case == "constant_of_shape":
        node, inputs, inits, feeds = helper.make_node("ConstantOfShape", ["big"], ["y"]), [], [big], {}
        expected = "invalid"
    elif case == "tile":
        reps = numpy_helper.from_array(np.array([1 << 40, 1 << 40, 1, 1], np.int64), "r")
        node, inputs, inits = helper.make_node("Tile", ["x", "r"], ["y"]), [x], [reps]
        expected = "is invalid"
    elif case == "reshape":
        node, inputs, inits = helper.make_node("Reshape", ["x", "big"], ["y"]), [x], [big]
        expected = "cannot reshape"
    elif case == "expand":
        shape = numpy_helper.from_array(np.array([1 << 30, 2, 4, 4], np.int64), "s")
        node, inputs, inits = helper.make_node("Expand", ["x", "s"], ["y"]), [x], [shape]
        expected = "over the limit"
    elif case == "resize":
        scales = numpy_helper.from_array(np.array([1, 1, 1e30, 1e30], np.float32), "sc")
        node, inputs, inits = helper.make_node("Resize", ["x", "", "sc"], ["y"]), [x], [scales]
        expected = "invalid"
    elif case == "pad":
        pads = numpy_helper.from_array(np.array([0, 0, 1 << 30, 1 << 30, 0, 0, 1 << 30, 1 << 30], np.int64), "p")
        node, inputs, inits = helper.make_node("Pad", ["x", "p"], ["y"]), [x], [pads]
        expected = "is invalid"
    else:
        w = numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")
        node = helper.make_node("Conv", ["x", "w"], ["y"], strides=[1], pads=[1, 1, 1, 1])
        inputs, inits = [x], [w]
        expected = "strides"
    path = one_node_model(tmp, node, inputs, initializers=inits)
    args = []
    for name, value in feeds.items():
        np.save(tmp / f"{name}.npy", value)
        args += ["--input", f"{name}={tmp / f'{name}.npy'}"]
    line = error_line(run_onyx("run", path, *args))
    assert expected in line, line
