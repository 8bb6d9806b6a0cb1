#!/usr/bin/env python3
"""Regenerates models/paddle_mobilenet_v1: a PaddlePaddle MobileNetV1 (scale 0.25, 10 classes) exported
by paddle2onnx, with reference data from onnxruntime in the ONNX test-data layout. Needs paddlepaddle
and paddle2onnx (only this script does)."""
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import paddle
from onnx import numpy_helper

OUT = Path(__file__).resolve().parents[1] / "models" / "paddle_mobilenet_v1"


def main():
    paddle.seed(0)
    model = paddle.vision.models.mobilenet_v1(scale=0.25, num_classes=10)
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "inference")
        spec = [paddle.static.InputSpec(shape=[1, 3, 224, 224], dtype="float32", name="image")]
        paddle.jit.save(paddle.jit.to_static(model, input_spec=spec), prefix)
        model_file = next(p for p in Path(tmp).iterdir() if p.name.startswith("inference.") and p.suffix in (".pdmodel", ".json"))
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "paddle2onnx.command", "--model_dir", tmp, "--model_filename", model_file.name,
                        "--params_filename", "inference.pdiparams", "--save_file", str(OUT / "model.onnx"),
                        "--opset_version", "13"], check=True)
    onnx_model = onnx.load(str(OUT / "model.onnx"))
    onnx.checker.check_model(onnx_model, full_check=True)
    x = np.random.RandomState(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    name = onnx_model.graph.input[0].name
    outputs = ort.InferenceSession(str(OUT / "model.onnx")).run(None, {name: x})
    data = OUT / "test_data_set_0"
    data.mkdir(exist_ok=True)
    (data / "input_0.pb").write_bytes(numpy_helper.from_array(x, name).SerializeToString())
    for k, (out, info) in enumerate(zip(outputs, onnx_model.graph.output)):
        (data / f"output_{k}.pb").write_bytes(numpy_helper.from_array(out, info.name).SerializeToString())
    print(f"wrote {OUT}: producer {onnx_model.producer_name} {onnx_model.producer_version}, {len(onnx_model.graph.node)} nodes")


if __name__ == "__main__":
    main()
