#!/usr/bin/env python3
"""Golden fixtures for scaled dot-product attention, computed by PyTorch in float64.

Writes test/fixtures/attention_golden.json. Inputs are float32-representable (drawn in float32,
then widened), so the float32 GPU sees exactly the same values. For every case, with q, k, v of
shape [B, H, T, D] and a fixed random cotangent r:
    O  = softmax(scale · q kᵀ) v                 (forward)
    L1 = Σ tanh(O) · r                           (first order: ∂L1/∂q, ∂L1/∂k, ∂L1/∂v)
    g  = (∂L1/∂q, ∂L1/∂k, ∂L1/∂v)                (kept differentiable: create_graph=True)
    L2 = Σ g_q² + Σ g_k² + Σ g_v²                (second order: ∂L2/∂q, ∂L2/∂k, ∂L2/∂v)
The tanh makes the cotangent of O depend on the inputs, so the second-order quantity also
exercises the gradient of the backward pass with respect to its incoming cotangent.
Run: /usr/bin/python3 test/golden/attention_golden.py   (torch 1.13, CPU)
"""
import json
import math
import os

import torch

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def f32(*shape, spread=1.0):
    return torch.rand(*shape, dtype=torch.float32).mul(2 * spread).sub(spread).double()


def flat(t):
    # 9 significant digits: exact for the float32 inputs, far below the tests' 1e-4 for the rest.
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def case(shape, scale, spread):
    q, k, v = (f32(*shape, spread=spread).requires_grad_(True) for _ in range(3))
    scores = torch.matmul(q, k.transpose(-1, -2)) * scale
    o = torch.matmul(torch.softmax(scores, dim=-1), v)
    r = f32(*shape)
    l1 = (torch.tanh(o) * r).sum()
    first = torch.autograd.grad(l1, [q, k, v], create_graph=True)
    l2 = sum((g ** 2).sum() for g in first)
    second = torch.autograd.grad(l2, [q, k, v])
    return {
        "shape": list(shape), "scale": scale,
        "q": flat(q), "k": flat(k), "v": flat(v), "r": flat(r),
        "o": flat(o),
        "dL1_dq": flat(first[0]), "dL1_dk": flat(first[1]), "dL1_dv": flat(first[2]),
        "dL2_dq": flat(second[0]), "dL2_dk": flat(second[1]), "dL2_dv": flat(second[2]),
    }


def main():
    cases = [
        # [B, H, T, D], scale, input spread: odd lengths (13, 7) and head dims 16 and 8
        case((1, 2, 13, 16), 1 / math.sqrt(16), 1.5),
        case((2, 1, 7, 8), 0.5, 2.0),
    ]
    path = os.path.join(OUT, "attention_golden.json")
    with open(path, "w") as f:
        json.dump({"generator": "test/golden/attention_golden.py", "torch": torch.__version__, "cases": cases}, f)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
