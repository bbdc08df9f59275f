#!/usr/bin/env python3
"""Golden fixtures for `harmonize parity`: the harmonizer loss of docs/harmonization.md §1 and its gradients, in
PyTorch float64, for a tiny ResNet (BatchNorm in training mode) and a tiny ViT, with tokens [1, 1]
and [1, 0]. The reference modules (exact torchvision/timm parameter names) come from
models_golden.py. Run from the repository root:

    /usr/bin/python3 test/golden/parity_golden.py

Each fixture (test/fixtures/parity/<name>.safetensors) holds state.<param>, batch.{x, heatmaps,
labels, tokens}, and the parity outputs under their own names (logits, saliency, sa, loss_*,
grad.<param>, grad_harm.<param>); the metadata holds the model config JSON.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from models_golden import BasicBlock, ResNet, VisionTransformer, randomize, save_safetensors  # noqa: E402

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "parity")
LAMBDA_W, LAMBDA_H, SMOOTHING, LEVELS = 1e-5, 1.0, 0.1, 5


def standardize_cut(m):
    mu = m.mean(dim=(1, 2), keepdim=True)
    sigma = m.std(dim=(1, 2), keepdim=True, unbiased=False)  # population σ
    return torch.relu((m - mu) / (sigma + 1e-5))


def tf_same(size):
    out = -(-size // 2)
    total = max((out - 1) * 2 + 5 - size, 0)
    return total // 2, total - total // 2


def pyramid_down(m):
    b = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    kernel = (torch.outer(b, b) / 256.0)[None, None]
    (top, bottom), (left, right) = tf_same(m.shape[1]), tf_same(m.shape[2])
    return F.conv2d(F.pad(m[:, None], (left, right, top, bottom)), kernel, stride=2)[:, 0]


def harmonization(saliency, heatmaps, tokens):
    s, h = standardize_cut(saliency), standardize_cut(heatmaps)
    s_max = s.amax(dim=(1, 2), keepdim=True).detach()  # no gradient through the saliency max
    h = h / (h.amax(dim=(1, 2), keepdim=True) + 1e-6) * (s_max + 1e-6)
    total, a, b = 0.0, s, h
    for i in range(LEVELS):
        total = total + (tokens[:, None, None] * (a - b) ** 2).mean()
        if i < LEVELS - 1:
            a, b = pyramid_down(a), pyramid_down(b)
    return total / LEVELS, s


def decayed(name):
    module = name.rsplit(".", 1)[0]
    excluded = ("bn" in module.split(".")[-1] or module.endswith("downsample.1") or "norm" in module.split(".")[-1]
                or name.startswith("patch_embed.") or name in ("pos_embed", "cls_token"))
    return not excluded


def losses(model, x, heatmaps, labels, tokens):
    x = x.clone().requires_grad_(True)
    logits = model(x)
    onehot = F.one_hot(labels, logits.shape[1]).to(torch.float64)
    (gradient,) = torch.autograd.grad((logits * onehot).sum(), x, create_graph=True)
    saliency = gradient.mean(dim=1)  # signed channel mean
    harm, sa = harmonization(saliency, heatmaps, tokens)
    target = (1 - SMOOTHING) * onehot + SMOOTHING / logits.shape[1]
    cce = -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    l2 = sum(0.5 * (p ** 2).sum() for n, p in model.named_parameters() if decayed(n))
    total = cce + LAMBDA_W * l2 + LAMBDA_H * harm
    return total, cce, harm, l2, logits, saliency, sa


def fixture(name, model, config, gen, tokens):
    randomize(model, gen)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    n, size = 2, config.get("imageSize", 16)
    x = torch.randn(n, 3, size, size, generator=gen)
    heatmaps = torch.rand(n, size, size, generator=gen) ** 3
    labels = torch.randint(0, config["classes"], (n,), generator=gen)
    tokens = torch.tensor(tokens, dtype=torch.float64)
    params = dict(model.named_parameters())
    model.train()
    total, cce, harm, l2, logits, saliency, sa = losses(model, x, heatmaps, labels, tokens)
    grads = torch.autograd.grad(total, list(params.values()), retain_graph=True)
    harm_grads = torch.autograd.grad(harm, list(params.values()), allow_unused=True)
    harm_grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params.values(), harm_grads)]
    out = {f"state.{k}": v for k, v in state.items()}
    out.update({"batch.x": x, "batch.heatmaps": heatmaps, "batch.labels": labels, "batch.tokens": tokens})
    out.update({"loss_total": total.reshape(()), "loss_cce": cce.reshape(()), "loss_harmonization": harm.reshape(()),
                "loss_weight_l2": l2.reshape(()), "logits": logits, "saliency": saliency, "sa": sa})
    out.update({f"grad.{k}": g for k, g in zip(params, grads)})
    out.update({f"grad_harm.{k}": g for k, g in zip(params, harm_grads)})
    save_safetensors(os.path.join(OUT, f"{name}.safetensors"), {k: v.detach() for k, v in out.items()},
                     {"config": json.dumps(config)})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(5)
    resnet_config = {"arch": "resnet", "block": "basic", "layers": [1, 1], "widths": [4, 8], "classes": 5,
                     "stemKernel": 3, "stemStride": 1, "stemPool": True}
    vit_config = {"arch": "vit", "imageSize": 16, "patchSize": 4, "width": 16, "depth": 2, "heads": 2,
                  "mlpWidth": 32, "classes": 5}
    for tokens in ([1.0, 1.0], [1.0, 0.0]):
        suffix = "".join(str(int(t)) for t in tokens)
        fixture(f"resnet_tiny_tokens{suffix}", ResNet(BasicBlock, [1, 1], (4, 8), classes=5, stem_kernel=3,
                                                      stem_stride=1, stem_pool=True), resnet_config, gen, tokens)
        fixture(f"vit_tiny_tokens{suffix}", VisionTransformer(16, 4, 16, 2, 2, 32, 5), vit_config, gen, tokens)
