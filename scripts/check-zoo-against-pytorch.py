"""Checks zoo architectures against torchvision's and timm's own modules (needs torch, and timm for
ghostnet_1_0 and xception; not part of CI).

Each net is built in torchvision (or timm) with a seeded random init and non-trivial BatchNorm statistics; its
state_dict is saved as safetensors, loaded by name with `onyx zoo export NAME --weights FILE`, and the
exported ONNX file is run in onnxruntime against torch's output on one input.

Usage: python3 scripts/check-zoo-against-torchvision.py mobilenet_v2 efficientnet_b0 ...
"""
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torchvision.models as models

ONYX = str(Path(__file__).resolve().parents[1] / ".build" / "release" / "onyx")
# Zoo names that come from timm, with timm's name and the input size.
TIMM = {"ghostnet_1_0": ("ghostnet_100", 224), "xception": ("legacy_xception", 299)}


def reference(name):
    if name in TIMM:
        import timm
        return timm.create_model(TIMM[name][0]), TIMM[name][1]
    return getattr(models, name)(), 224


def save_safetensors(state, path):
    """The safetensors layout: u64 header size, JSON header, then the float32 data."""
    header, blobs, offset = {}, [], 0
    for name, value in state.items():
        array = value.detach().cpu().numpy()
        if array.dtype != np.float32:
            continue
        blob = array.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def check(name, folder):
    torch.manual_seed(0)
    net, size = reference(name)
    net = net.eval()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.1, 0.1)
    weights, exported = folder / f"{name}.safetensors", folder / f"{name}.onnx"
    save_safetensors(net.state_dict(), weights)
    subprocess.run([ONYX, "zoo", "export", name, "-o", exported, "--weights", weights], check=True)
    x = np.random.RandomState(0).rand(1, 3, size, size).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    actual = ort.InferenceSession(str(exported)).run(None, {"input": x})[0]
    error, scale = float(np.abs(actual - expected).max()), float(np.abs(expected).max())
    print(f"{name}: max abs error {error:.3g} at scale {scale:.3g} ({'ok' if error <= 1e-4 * scale else 'MISMATCH'})")
    return error <= 1e-4 * scale


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        results = [check(name, Path(folder)) for name in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
