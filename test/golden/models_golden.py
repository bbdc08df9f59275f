#!/usr/bin/env python3
"""Golden fixtures for the ResNet and ViT models, computed by PyTorch in float64.

torchvision and timm are not installed, so the reference modules below are written here with
exactly their parameter names and forward passes (torchvision.models.resnet, timm's
VisionTransformer). Run from the repository root:

    /usr/bin/python3 test/golden/models_golden.py

Each fixture is a safetensors file (F64 tensors, I64 counters) whose tensor names carry a prefix:
  state.<name>      the PyTorch state dict loaded into the model
  input.<name>      inputs (x: the images, r: the weights of the scalar Σ logits·r)
  expected.<name>   outputs (logits, running statistics after a training forward, ...)
  grad.<name>       ∂(Σ out·r)/∂θ for every parameter θ
  grad2.<name>      ∂/∂θ Σ_x (∂(Σ out·r)/∂x)²: the second-order quantity harmonization needs
Full ResNet-18/50 and ViT-Ti/16 weights (47, 102 and 23 MB) are too big for fixtures, so
`deterministic_weights` fills them from an integer hash that test/models/deterministic_weights.ts reproduces exactly; only the
input, the logits of a 32×32 batch (eval mode) and the state-dict names and shapes (in the
metadata, as JSON) are stored.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "models")


# --------------------------------------------------------------------------------- safetensors
def save_safetensors(path, tensors, metadata=None):
    header, chunks, offset = ({"__metadata__": metadata} if metadata else {}), [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype in (torch.float64, torch.float32):
            arr, dtype = t.to(torch.float64).numpy().astype("<f8"), "F64"
        elif t.dtype == torch.int64:
            arr, dtype = t.numpy().astype("<i8"), "I64"
        else:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        data = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for c in chunks:
            f.write(c)
    print(f"wrote {path}: {os.path.getsize(path)} bytes")


# ------------------------------------------------------------------ torchvision ResNet (copied shape)
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, widths=(64, 128, 256, 512), classes=1000, in_channels=3,
                 stem_kernel=7, stem_stride=2, stem_pool=True):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(in_channels, widths[0], stem_kernel, stem_stride, stem_kernel // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if stem_pool else nn.Identity()
        for i, (n, w) in enumerate(zip(layers, widths)):
            setattr(self, f"layer{i + 1}", self._make_layer(block, w, n, 1 if i == 0 else 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[-1] * block.expansion, classes)
        self.stages = len(layers)

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ------------------------------------------------------------------------ timm VisionTransformer
class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5
        x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch, in_channels, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch, dim, depth, heads, hidden, classes, in_channels=3):
        super().__init__()
        self.grid = image_size // patch
        self.patch = patch
        self.patch_embed = PatchEmbed(patch, in_channels, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + self.grid ** 2, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        tokens = self.patch_embed(x)
        gh, gw = x.shape[2] // self.patch, x.shape[3] // self.patch
        pos = resample_abs_pos_embed(self.pos_embed, (gh, gw), (self.grid, self.grid))
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], 1) + pos
        return self.head(self.norm(self.blocks(x))[:, 0])


def resample_abs_pos_embed(posemb, new_size, old_size, num_prefix_tokens=1):
    """timm.layers.resample_abs_pos_embed with its defaults (bicubic, antialias=True)."""
    if tuple(new_size) == tuple(old_size):
        return posemb
    prefix, grid = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    grid = grid.reshape(1, old_size[0], old_size[1], -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new_size, mode="bicubic", antialias=True, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, grid.shape[1])
    return torch.cat([prefix, grid], dim=1)


# ------------------------------------------------------------------------------------ helpers
def randomize(model, gen):
    """Random weights everywhere, BN affine and running statistics away from 1/0 so they matter."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                t.fill_(3)
            elif name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            elif name.endswith("running_mean"):
                t.copy_(0.2 * torch.randn(t.shape, generator=gen))
            elif t.dim() == 1 and ("bn" in name or "norm" in name or name.split(".")[-2].isdigit()):
                base = 1.0 if name.endswith("weight") else 0.0
                t.copy_(base + 0.2 * torch.randn(t.shape, generator=gen))
            else:
                fan_in = t[0].numel() if t.dim() > 1 else t.numel()
                t.copy_(torch.randn(t.shape, generator=gen) * math.sqrt(2.0 / fan_in))


def prefixed(prefix, items):
    return {f"{prefix}.{k}": v for k, v in items}


def gradients(model, x, r, second_order):
    """grad.* of Σ out·r and, optionally, grad2.* of Σ (∂(Σ out·r)/∂x)², both w.r.t. every parameter."""
    params = dict(model.named_parameters())
    x = x.clone().requires_grad_(second_order)
    out = model(x)
    scalar = (out * r).sum()
    if not second_order:
        first = torch.autograd.grad(scalar, list(params.values()))
        return out, prefixed("grad", zip(params, first))
    first = torch.autograd.grad(scalar, list(params.values()) + [x], create_graph=True)
    saliency = first[-1]
    second = torch.autograd.grad((saliency ** 2).sum(), list(params.values()), allow_unused=True)
    second = [torch.zeros_like(p) if g is None else g for p, g in zip(params.values(), second)]
    result = prefixed("grad", zip(params, [g.detach() for g in first[:-1]]))
    result.update(prefixed("grad2", zip(params, second)))
    result["expected.saliency"] = saliency.detach()
    return out, result


# ----------------------------------------------------------------------------------- fixtures
def resnet_block(gen):
    """A BasicBlock with a stride-2 downsample, training mode (batch statistics)."""
    downsample = nn.Sequential(nn.Conv2d(4, 8, 1, 2, bias=False), nn.BatchNorm2d(8))
    block = BasicBlock(4, 8, 2, downsample)
    randomize(block, gen)
    state = {k: v.clone() for k, v in block.state_dict().items()}
    x = torch.randn(2, 4, 6, 6, generator=gen)
    r = torch.randn(2, 8, 3, 3, generator=gen)
    block.train()
    out, grads = gradients(block, x, r, second_order=False)
    fixture = {**prefixed("state", state.items()), "input.x": x, "input.r": r, "expected.out": out.detach(), **grads}
    fixture.update(prefixed("expected", ((k, v) for k, v in block.state_dict().items() if "running" in k or "num_batches" in k)))
    save_safetensors(os.path.join(OUT, "resnet_basic_block.safetensors"), fixture)


TINY_RESNET = dict(block="basic", layers=[1, 1], widths=[4, 8], classes=5, stem_kernel=3, stem_stride=1, stem_pool=True)


def tiny_resnet(gen):
    """The tiny ResNet config of test/models/resnet.test.ts, end to end in train and eval mode."""
    model = ResNet(BasicBlock, [1, 1], (4, 8), classes=5, stem_kernel=3, stem_stride=1, stem_pool=True)
    randomize(model, gen)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(2, 3, 8, 8, generator=gen)
    r = torch.randn(2, 5, generator=gen)
    model.eval()
    with torch.no_grad():
        logits_eval = model(x)
    model.train()
    logits_train, grads = gradients(model, x, r, second_order=True)
    fixture = {**prefixed("state", state.items()), "input.x": x, "input.r": r,
               "expected.logits_eval": logits_eval, "expected.logits_train": logits_train.detach(), **grads}
    # running statistics after exactly one training forward (the one above)
    fixture.update(prefixed("expected", ((k, v) for k, v in model.state_dict().items() if "running" in k or "num_batches" in k)))
    save_safetensors(os.path.join(OUT, "resnet_tiny.safetensors"), fixture)


def vit_block(gen):
    block = Block(16, 2, 32)
    randomize(block, gen)
    state = {k: v.clone() for k, v in block.state_dict().items()}
    x = torch.randn(2, 5, 16, generator=gen).requires_grad_(True)
    r = torch.randn(2, 5, 16, generator=gen)
    out = block(x)
    params = dict(block.named_parameters())
    grads = torch.autograd.grad((out * r).sum(), list(params.values()) + [x])
    fixture = {**prefixed("state", state.items()), "input.x": x.detach(), "input.r": r, "expected.out": out.detach(),
               **prefixed("grad", zip(params, grads[:-1])), "expected.grad_x": grads[-1]}
    save_safetensors(os.path.join(OUT, "vit_block.safetensors"), fixture)


def tiny_vit(gen):
    """imageSize 8, patch 4, width 16, depth 2, heads 2, mlp 32, classes 5; plus a 12×12 input (grid 2 → 3)."""
    model = VisionTransformer(8, 4, 16, 2, 2, 32, 5)
    randomize(model, gen)
    with torch.no_grad():
        model.cls_token.copy_(torch.randn(1, 1, 16, generator=gen))
        model.pos_embed.copy_(torch.randn(1, 5, 16, generator=gen))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(2, 3, 8, 8, generator=gen)
    r = torch.randn(2, 5, generator=gen)
    logits, grads = gradients(model, x, r, second_order=True)
    x_large = torch.randn(2, 3, 12, 12, generator=gen)
    with torch.no_grad():
        logits_large = model(x_large)
    fixture = {**prefixed("state", state.items()), "input.x": x, "input.r": r, "input.x_large": x_large,
               "expected.logits": logits.detach(), "expected.logits_large": logits_large, **grads}
    save_safetensors(os.path.join(OUT, "vit_tiny.safetensors"), fixture)


def pos_embed_resample(gen):
    """timm's resample_abs_pos_embed of a [1, 1 + 4·4, 6] embedding up to 7×5 and down to 3×2."""
    pos = torch.randn(1, 17, 6, generator=gen)
    fixture = {"input.pos_embed": pos,
               "expected.up": resample_abs_pos_embed(pos, (7, 5), (4, 4)),
               "expected.down": resample_abs_pos_embed(pos, (3, 2), (4, 4))}
    save_safetensors(os.path.join(OUT, "pos_embed_resample.safetensors"), fixture)


# ------------------------------------------------ full ResNets with hash-generated weights
def hash_uniform(tensor_index, count):
    """u ∈ [0, 1) per element: a murmur3 finaliser of i·0x9E3779B1 + k·0x85EBCA77 (mod 2³²)."""
    i = np.arange(count, dtype=np.uint64)
    h = (i * np.uint64(0x9E3779B1) + np.uint64(tensor_index) * np.uint64(0x85EBCA77)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    return h.astype(np.float64) / 2.0 ** 32


def deterministic_weights(model):
    """The rule of test/models/deterministic_weights.ts, by state-dict position k."""
    with torch.no_grad():
        for k, (name, t) in enumerate(model.state_dict().items()):
            if name.endswith("num_batches_tracked"):
                continue
            u = torch.from_numpy(hash_uniform(k, t.numel()).reshape(t.shape))
            if name.endswith("running_var"):
                t.copy_(0.5 + u)
            elif name.endswith("running_mean"):
                t.copy_(0.2 * (2 * u - 1))
            elif t.dim() == 1 and name.endswith("weight"):
                t.copy_(0.5 + 0.5 * u)
            elif t.dim() == 1:
                t.copy_(0.2 * (2 * u - 1))
            else:
                fan_in = t[0].numel()
                t.copy_((2 * u - 1) * math.sqrt(3.0 / fan_in))
    return model


def full_models():
    """ResNet-18/50 and ViT-Ti/16 at full size on a 32×32 batch (the ViT resamples its 14×14
    position grid to 2×2, as timm's dynamic image size does)."""
    x = torch.from_numpy((2 * hash_uniform(999, 2 * 3 * 32 * 32) - 1).reshape(2, 3, 32, 32))
    fixture, metadata = {"input.x": x}, {}
    models = [("resnet18", lambda: ResNet(BasicBlock, [2, 2, 2, 2])),
              ("resnet50", lambda: ResNet(Bottleneck, [3, 4, 6, 3])),
              ("vit_tiny_patch16_224", lambda: VisionTransformer(224, 16, 192, 12, 3, 768, 1000))]
    for name, build in models:
        model = deterministic_weights(build()).eval()
        with torch.no_grad():
            fixture[f"expected.{name}"] = model(x)
        # the names and shapes the TypeScript model must reproduce, in state-dict order
        metadata[f"{name}.state_dict"] = json.dumps([[k, list(v.shape)] for k, v in model.state_dict().items()])
    save_safetensors(os.path.join(OUT, "full_models_logits.safetensors"), fixture, metadata)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20221128)
    resnet_block(gen)
    tiny_resnet(gen)
    vit_block(gen)
    tiny_vit(gen)
    pos_embed_resample(gen)
    full_models()
