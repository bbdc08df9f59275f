#!/usr/bin/env python3
"""PyTorch side of the checkpoint round trip (harmonize export / import), with Debian's python3-torch.

    /usr/bin/python3 test/golden/roundtrip_golden.py            # writes test/fixtures/roundtrip/
    /usr/bin/python3 test/golden/roundtrip_golden.py check ARCH STATE INPUT LOGITS RESAVED   (all .safetensors)

The ResNet is torchvision's own class (torchvision.models.ResNet, its BasicBlock and _make_layer)
with tiny widths; torchvision's constructor fixes the widths at 64..512, so __init__ is redone
with the same attribute names. timm is not installable here, so the ViT is the timm layout
written out in models_golden.py. Fixtures (state dicts exactly as PyTorch saves them):

  resnet_tiny.<variant>.safetensors   F32 with int64 num_batches_tracked; the same weights as F64, F16
                                      and BF16; and "params" without any BatchNorm buffer
  vit_tiny.<variant>.safetensors      F32 and BF16
  io.safetensors                      input.x and, per model and variant, expected.<model>.<variant>:
                                      the eval-mode logits PyTorch computes (float64) from exactly the
                                      weights stored in that file; metadata: torchvision resnet18's and
                                      timm vit_tiny_patch16_224's state-dict names, shapes and dtypes

`check` loads STATE into ARCH (resnet_tiny | vit_tiny) with load_state_dict(strict=True), writes the
eval-mode logits of INPUT's input.x to LOGITS (tensor "logits"), and the state dict PyTorch then
holds to RESAVED (F32, int64 counters), so the caller can import it back.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock

sys.path.insert(0, os.path.dirname(__file__))
from models_golden import VisionTransformer, randomize  # noqa: E402

torch.set_default_dtype(torch.float32)  # models_golden computes in float64; these fixtures are what PyTorch saves

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "roundtrip")
TINY_RESNET = dict(layers=[1, 1, 1, 1], widths=[4, 4, 8, 8], classes=3)
TINY_VIT = dict(image_size=16, patch=4, dim=16, depth=2, heads=2, hidden=32, classes=3)
# The Harmonize model configs of the same two networks (the "config" the tests build).
RESNET_CONFIG = {"arch": "resnet", "block": "basic", "layers": TINY_RESNET["layers"], "widths": TINY_RESNET["widths"],
                 "classes": 3, "stemKernel": 3, "stemStride": 1, "stemPool": True}
VIT_CONFIG = {"arch": "vit", "imageSize": 16, "patchSize": 4, "width": 16, "depth": 2, "heads": 2, "mlpWidth": 32, "classes": 3}
INPUT_SIZE = 16


class TinyResNet(torchvision.models.ResNet):
    """torchvision's ResNet (its forward, _make_layer and BasicBlock) with a 3×3 stride-1 stem and tiny widths."""

    def __init__(self, layers, widths, classes):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.dilation, self.groups, self.base_width = 1, 1, 64
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(BasicBlock, widths[0], layers[0])
        self.layer2 = self._make_layer(BasicBlock, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3], classes)


def build(arch):
    if arch == "resnet_tiny":
        return TinyResNet(TINY_RESNET["layers"], TINY_RESNET["widths"], TINY_RESNET["classes"])
    v = TINY_VIT
    return VisionTransformer(v["image_size"], v["patch"], v["dim"], v["depth"], v["heads"], v["hidden"], v["classes"])


# ----------------------------------------------------------------------------- safetensors, any dtype
STORED = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32"}
LOADED = {v: k for k, v in STORED.items()}
NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<i2", "BF16": "<i2", "I64": "<i8", "I32": "<i4"}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.view(torch.int16)  # numpy has no bfloat16: move the raw 16-bit patterns
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def save_safetensors(path, tensors, metadata=None):
    header, chunks, offset = ({"__metadata__": metadata} if metadata else {}), [], 0
    for name, t in tensors.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": STORED[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode() + b"".join(chunks))
    print(f"wrote {path}: {os.path.getsize(path)} bytes", file=sys.stderr)


def load_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    header.pop("__metadata__", None)
    out = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = np.frombuffer(blob[8 + length + begin:8 + length + end], dtype=NUMPY[entry["dtype"]]).copy()
        t = torch.from_numpy(raw).reshape(entry["shape"])
        if entry["dtype"] in ("F16", "BF16"):
            t = t.view(LOADED[entry["dtype"]])
        out[name] = t
    return out


# ------------------------------------------------------------------------------------------ fixtures
def logits(arch, state, x, params_only):
    """Eval-mode logits in float64 of exactly the weights `state` holds (absent buffers at their defaults)."""
    model = build(arch).double().eval()
    widened = {k: (v.double() if v.is_floating_point() else v) for k, v in state.items()}
    model.load_state_dict(widened, strict=not params_only)
    with torch.no_grad():
        return model(x.double())


def variants(state, kinds):
    out = {}
    for kind in kinds:
        if kind == "params":
            out[kind] = {k: v for k, v in state.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
        else:
            dtype = {"f32": torch.float32, "f64": torch.float64, "f16": torch.float16, "bf16": torch.bfloat16}[kind]
            out[kind] = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in state.items()}
    return out


def shape_table(model):
    return json.dumps([[k, list(v.shape), STORED[v.dtype]] for k, v in model.state_dict().items()])


def fixtures():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20261201)
    x = torch.randn(2, 3, INPUT_SIZE, INPUT_SIZE, generator=gen, dtype=torch.float64).float()
    io = {"input.x": x}
    for arch, kinds in (("resnet_tiny", ["f32", "f64", "f16", "bf16", "params"]), ("vit_tiny", ["f32", "bf16"])):
        model = build(arch)
        randomize(model, gen)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        for kind, tensors in variants(state, kinds).items():
            save_safetensors(os.path.join(OUT, f"{arch}.{kind}.safetensors"), tensors)
            io[f"expected.{arch}.{kind}"] = logits(arch, tensors, x, params_only=kind == "params")
    metadata = {
        "resnet_tiny.config": json.dumps(RESNET_CONFIG),
        "vit_tiny.config": json.dumps(VIT_CONFIG),
        "torchvision.resnet18": shape_table(torchvision.models.resnet18(num_classes=4)),
        "timm.vit_tiny_patch16_224": shape_table(VisionTransformer(224, 16, 192, 12, 3, 768, 4)),
    }
    save_safetensors(os.path.join(OUT, "io.safetensors"), io, metadata)


def check(arch, state_path, input_path, logits_path, resaved_path):
    model = build(arch).eval()
    model.load_state_dict(load_safetensors(state_path), strict=True)
    x = load_safetensors(input_path)["input.x"].float()
    with torch.no_grad():
        save_safetensors(logits_path, {"logits": model(x)})
    save_safetensors(resaved_path, model.state_dict())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "check":
        check(*sys.argv[2:7])
    else:
        fixtures()
