#!/usr/bin/env python3
"""Exports the benchmark models (full size, batch 1, 224x224) into benchmarks/models/ (not committed:
ResNet-50 alone is 100 MB). Needs torch and torchvision. GhostNet comes from timm when it is installed,
else from Onyx's own zoo (`onyx zoo export ghostnet_1_0`: timm's layout, the same 5,182,508 parameters).
Weights are random (seeded): latency does not depend on their values."""
import subprocess
from pathlib import Path

import torch
import torchvision

OUT = Path(__file__).resolve().parent / "models"


def export(name, model):
    path = OUT / f"{name}.onnx"
    if path.exists():
        return
    torch.manual_seed(0)
    model.eval()
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["output"],
                      opset_version=13, dynamo=False, do_constant_folding=True)
    print(f"exported {path.name}")


def main():
    OUT.mkdir(exist_ok=True)
    tv = torchvision.models
    export("mobilenet_v2", tv.mobilenet_v2())
    export("mobilenet_v3_large", tv.mobilenet_v3_large())
    export("shufflenet_v2_x1_0", tv.shufflenet_v2_x1_0())
    export("squeezenet1_1", tv.squeezenet1_1())
    export("efficientnet_b0", tv.efficientnet_b0())
    export("resnet50", tv.resnet50())
    try:
        import timm
        export("ghostnet_1_0", timm.create_model("ghostnet_100"))
    except Exception as error:  # timm missing or its model API changed
        path = OUT / "ghostnet_1_0.onnx"
        if not path.exists():
            onyx = Path(__file__).resolve().parents[1] / ".build" / "release" / "onyx"
            subprocess.run([str(onyx), "zoo", "export", "ghostnet_1_0", "-o", str(path)], check=True)
            print(f"timm unavailable ({error}); exported {path.name} from the Onyx zoo")


if __name__ == "__main__":
    main()
