"""Golden values for the harmonization term and the alignment metrics (docs/harmonization.md §1.3-1.7, §3).

Run: /usr/bin/python3 test/golden/harmonizer_loss_golden.py  (torch float64, scipy, numpy)
Writes test/fixtures/harmonizer_loss.json. The specification's subtleties are written out explicitly:
population std, stop-gradient on the saliency max, TF SAME padding, five levels, token weighting.
"""
import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

torch.manual_seed(0)
rng = np.random.default_rng(0)
OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "harmonizer_loss.json"


def standardize_cut(m):
    mu = m.mean(dim=(1, 2), keepdim=True)
    sigma = m.std(dim=(1, 2), keepdim=True, unbiased=False)
    return torch.relu((m - mu) / (sigma + 1e-5))


def tf_same_pad(size, k=5, s=2):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def pyramid_down(m):
    b = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64)
    kernel = (torch.outer(b, b) / 256.0)[None, None]
    top, bottom = tf_same_pad(m.shape[1])
    left, right = tf_same_pad(m.shape[2])
    padded = F.pad(m[:, None], (left, right, top, bottom))
    return F.conv2d(padded, kernel, stride=2)[:, 0]


def harmonization(saliency, heatmaps, tokens, levels=5):
    s = standardize_cut(saliency)
    h = standardize_cut(heatmaps)
    h_max = h.amax(dim=(1, 2), keepdim=True)
    s_max = s.amax(dim=(1, 2), keepdim=True).detach()
    h = h / (h_max + 1e-6) * (s_max + 1e-6)
    total = 0.0
    a, b = s, h
    for i in range(levels):
        total = total + (tokens[:, None, None] * (a - b) ** 2).mean()
        if i < levels - 1:
            a, b = pyramid_down(a), pyramid_down(b)
    return total / levels


def case(n, hgt, wid, tokens):
    saliency = torch.randn(n, hgt, wid, dtype=torch.float64, requires_grad=True)
    heatmaps = torch.rand(n, hgt, wid, dtype=torch.float64) ** 3
    t = torch.tensor(tokens, dtype=torch.float64)
    loss = harmonization(saliency, heatmaps, t)
    (grad,) = torch.autograd.grad(loss, saliency)
    return {
        "shape": [n, hgt, wid],
        "saliency": saliency.detach().flatten().tolist(),
        "heatmaps": heatmaps.flatten().tolist(),
        "tokens": tokens,
        "loss": loss.item(),
        "grad": grad.flatten().tolist(),
    }


def metrics_case():
    # Quantised maps so that ties occur, as in real saliency and click maps.
    a = np.round(rng.random((2, 12, 10)) * 6) / 6
    b = np.round(rng.random((2, 12, 10)) * 4) / 4
    out = {"shape": [2, 12, 10], "a": a.flatten().tolist(), "b": b.flatten().tolist(), "spearman": [], "dice": [], "iou": []}
    for x, y in zip(a, b):
        out["spearman"].append(float(spearmanr(x.flatten(), y.flatten())[0]))
        bx = (x > np.percentile(x, 90, (0, 1))).astype(np.float64)
        by = (y > np.percentile(y, 90, (0, 1))).astype(np.float64)
        out["dice"].append(float(2.0 * np.sum(bx * by) / (np.sum(bx + by) + 1e-9)))
        out["iou"].append(float(np.sum(np.logical_and(bx, by)) / (np.sum(np.logical_or(bx, by)) + 1e-9)))
    return out


fixture = {
    "odd_15x22_tokens_101": case(3, 15, 22, [1.0, 0.0, 1.0]),
    "even_32x32_tokens_11": case(2, 32, 32, [1.0, 1.0]),
    "metrics": metrics_case(),
}
OUT.write_text(json.dumps(fixture))
print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
