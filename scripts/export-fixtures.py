#!/usr/bin/env python3
"""Regenerates models/: small real PyTorch exports with reference data in the ONNX test-data layout.

    models/<name>/model.onnx
    models/<name>/test_data_set_0/input_0.pb, output_0.pb    (outputs computed by onnxruntime)

Needs torch and torchvision (only this script does). Weights are seeded; BatchNorm statistics are
calibrated on random batches so activations have realistic ranges instead of identity statistics.
Widths and class counts are shrunk to keep models/ at a few MB.
"""
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[1] / "models"


def calibrate(model, shape, batches=8):
    """Kaiming-style weights, then BN running statistics averaged over random batches."""
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.uniform_(m.bias, -0.1, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(4, *shape[1:]))
    return model.eval()


def export(name, model, shape, dynamo=False, dynamic_batch=False):
    folder = ROOT / name
    (folder / "test_data_set_0").mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    kwargs = {}
    if dynamo:
        kwargs = dict(dynamo=True, external_data=False, optimize=True)
    else:
        kwargs = dict(dynamo=False, opset_version=13, do_constant_folding=True)
        if dynamic_batch:
            kwargs["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["output"], **kwargs)
    onnx_model = onnx.load(str(path))
    onnx.checker.check_model(onnx_model, full_check=True)
    inputs = {"input": x.numpy()}
    outputs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, inputs)
    with torch.no_grad():
        expected = model(x).numpy()
    assert np.allclose(outputs[0], expected, rtol=1e-3, atol=1e-4), f"{name}: onnxruntime disagrees with torch"
    (folder / "test_data_set_0" / "input_0.pb").write_bytes(numpy_helper.from_array(x.numpy(), "input").SerializeToString())
    for i, (out, info) in enumerate(zip(outputs, onnx_model.graph.output)):
        (folder / "test_data_set_0" / f"output_{i}.pb").write_bytes(numpy_helper.from_array(out, info.name).SerializeToString())
    size = path.stat().st_size
    print(f"{name}: {size / 1e6:.2f} MB, {len(onnx_model.graph.node)} nodes, opset {onnx_model.opset_import[0].version}")


class SqueezeExcite(nn.Module):
    def __init__(self, channels, squeezed):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.expand(F.silu(self.reduce(s))))


class MBConv(nn.Module):
    """EfficientNet's inverted residual: expand 1x1, depthwise kxk, SE, project 1x1; SiLU."""
    def __init__(self, cin, cout, expand, kernel, stride):
        super().__init__()
        mid = cin * expand
        self.use_residual = stride == 1 and cin == cout
        self.expand = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.SiLU()) if expand != 1 else nn.Identity()
        self.depthwise = nn.Sequential(nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False),
                                       nn.BatchNorm2d(mid), nn.SiLU())
        self.se = SqueezeExcite(mid, max(1, cin // 4))
        self.project = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.project(self.se(self.depthwise(self.expand(x))))
        return x + y if self.use_residual else y


class TinyEfficientNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU())
        self.blocks = nn.Sequential(MBConv(16, 8, 1, 3, 1), MBConv(8, 16, 6, 3, 2), MBConv(16, 16, 6, 3, 1),
                                    MBConv(16, 24, 6, 5, 2), MBConv(24, 24, 6, 5, 1), MBConv(24, 40, 6, 3, 2))
        self.head = nn.Sequential(nn.Conv2d(40, 160, 1, bias=False), nn.BatchNorm2d(160), nn.SiLU())
        self.classifier = nn.Linear(160, classes)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def conv_bn_silu(cin, cout, k=1, s=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.SiLU())


class C3(nn.Module):
    """YOLOv5's CSP block: two 1x1 branches, bottlenecks on one, concat, 1x1."""
    def __init__(self, cin, cout):
        super().__init__()
        mid = cout // 2
        self.a, self.b = conv_bn_silu(cin, mid), conv_bn_silu(cin, mid)
        self.m = nn.Sequential(conv_bn_silu(mid, mid), conv_bn_silu(mid, mid, 3))
        self.out = conv_bn_silu(2 * mid, cout)

    def forward(self, x):
        return self.out(torch.cat([self.m(self.a(x)), self.b(x)], 1))


class TinyYolo(nn.Module):
    """A YOLOv5-style detector: strided backbone, PAN head with nearest 2x upsampling and Concat,
    Detect convs whose sigmoid outputs are concatenated over three scales."""
    def __init__(self, classes=6, anchors=3):
        super().__init__()
        self.no = classes + 5
        self.anchors = anchors
        self.stem = conv_bn_silu(3, 16, 3, 2)
        self.p3 = nn.Sequential(conv_bn_silu(16, 24, 3, 2), C3(24, 24), conv_bn_silu(24, 32, 3, 2))
        self.p4 = nn.Sequential(conv_bn_silu(32, 48, 3, 2), C3(48, 48))
        self.p5 = nn.Sequential(conv_bn_silu(48, 64, 3, 2), C3(64, 64))
        self.lat5 = conv_bn_silu(64, 48)
        self.up_c4 = C3(96, 48)
        self.lat4 = conv_bn_silu(48, 32)
        self.up_c3 = C3(64, 32)
        self.down3 = conv_bn_silu(32, 32, 3, 2)
        self.down_c4 = C3(64, 48)
        self.down4 = conv_bn_silu(48, 48, 3, 2)
        self.down_c5 = C3(96, 64)
        self.detect = nn.ModuleList(nn.Conv2d(c, anchors * self.no, 1) for c in (32, 48, 64))

    def forward(self, x):
        p3 = self.p3(self.stem(x))
        p4 = self.p4(p3)
        p5 = self.p5(p4)
        l5 = self.lat5(p5)
        u4 = self.up_c4(torch.cat([F.interpolate(l5, scale_factor=2.0, mode="nearest"), p4], 1))
        l4 = self.lat4(u4)
        o3 = self.up_c3(torch.cat([F.interpolate(l4, scale_factor=2.0, mode="nearest"), p3], 1))
        o4 = self.down_c4(torch.cat([self.down3(o3), l4], 1))
        o5 = self.down_c5(torch.cat([self.down4(o4), l5], 1))
        outs = []
        for conv, feature in zip(self.detect, (o3, o4, o5)):
            y = conv(feature)
            b, _, h, w = y.shape
            y = y.view(b, self.anchors, self.no, h, w).permute(0, 1, 3, 4, 2).reshape(b, -1, self.no)
            outs.append(torch.sigmoid(y))
        return torch.cat(outs, 1)


def main():
    only = set(sys.argv[1:])
    tv = torchvision.models
    fixtures = {
        "squeezenet1_1": lambda: export("squeezenet1_1", calibrate(tv.squeezenet1_1(num_classes=10), (1, 3, 224, 224)), (1, 3, 224, 224)),
        "mobilenet_v2": lambda: export("mobilenet_v2", calibrate(tv.mobilenet_v2(width_mult=0.35, num_classes=10), (1, 3, 224, 224)), (1, 3, 224, 224)),
        "mobilenet_v3_small": lambda: export("mobilenet_v3_small", calibrate(tv.mobilenet_v3_small(width_mult=0.5, num_classes=10), (1, 3, 224, 224)), (1, 3, 224, 224)),
        "shufflenet_v2_legacy": lambda: export("shufflenet_v2_legacy", calibrate(tv.shufflenet_v2_x0_5(num_classes=10), (1, 3, 224, 224)), (1, 3, 224, 224), dynamic_batch=True),
        "shufflenet_v2_dynamo": lambda: export("shufflenet_v2_dynamo", calibrate(tv.shufflenet_v2_x0_5(num_classes=10), (1, 3, 224, 224)), (1, 3, 224, 224), dynamo=True),
        "efficientnet_tiny": lambda: export("efficientnet_tiny", calibrate(TinyEfficientNet(), (1, 3, 224, 224)), (1, 3, 224, 224)),
        "yolo_tiny": lambda: export("yolo_tiny", calibrate(TinyYolo(), (1, 3, 160, 160)), (1, 3, 160, 160)),
    }
    for name, make in fixtures.items():
        if not only or name in only:
            make()


if __name__ == "__main__":
    main()
