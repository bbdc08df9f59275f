#!/usr/bin/env python3
"""Golden fixtures for the convolution stack, computed by PyTorch in float64.

Writes test/fixtures/conv_golden.json, pool_golden.json and batch_norm_golden.json. Inputs are
float32-representable (drawn in float32, then widened), so the float32 GPU sees exactly the same
values. For every case, with a fixed random cotangent r:
    L1 = Σ tanh(op(x, θ)) · r          (first order: ∂L1/∂x, ∂L1/∂θ)
    g  = ∂L1/∂x                         (kept differentiable: create_graph=True)
    L2 = Σ g²                           (second order: ∂L2/∂θ and ∂L2/∂x, the harmonizer's pattern)
Run: /usr/bin/python3 test/golden/conv_golden.py   (torch 1.13, CPU)
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def f32(*shape):
    return torch.rand(*shape, dtype=torch.float32).mul(2).sub(1).double()


def flat(t):
    # 9 significant digits: exact for the float32 inputs, far below the tests' 1e-4 for the rest.
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def tf_same(size, k, s, d):
    out = math.ceil(size / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return [total // 2, total - total // 2]


def grads(fn, x, params):
    """Forward, first-order grads of L1 and second-order grads of L2 w.r.t. x and params."""
    leaves = [x] + params
    for t in leaves:
        t.requires_grad_(True)
    y = fn(x, *params)
    r = f32(*y.shape)
    l1 = (torch.tanh(y) * r).sum()
    first = torch.autograd.grad(l1, leaves, create_graph=True)
    l2 = (first[0] ** 2).sum()
    second = torch.autograd.grad(l2, leaves, allow_unused=True)
    second = [torch.zeros_like(t) if g is None else g for t, g in zip(leaves, second)]
    return y, r, first, second


def conv_cases():
    grid = [
        # x shape, w shape, stride, dilation, padding (explicit pairs or "SAME"/"VALID"), groups, bias
        ([2, 3, 7, 6], [4, 3, 3, 3], [1, 1], [1, 1], [[1, 1], [1, 1]], 1, True),
        ([2, 4, 9, 8], [6, 2, 3, 2], [2, 3], [1, 2], [[0, 2], [1, 0]], 2, False),
        ([1, 5, 10, 11], [5, 1, 3, 3], [2, 2], [2, 1], [[2, 1], [0, 1]], 5, True),
        ([2, 3, 8, 8], [4, 3, 5, 5], [2, 2], [1, 1], "SAME", 1, False),
        ([1, 2, 9, 7], [3, 2, 4, 3], [3, 2], [1, 1], "SAME", 1, True),
        ([2, 2, 6, 5], [3, 2, 2, 2], [1, 1], [2, 2], "VALID", 1, False),
        ([3, 6, 5, 5], [9, 2, 1, 1], [1, 1], [1, 1], [[0, 0], [0, 0]], 3, True),
        ([1, 1, 1, 1], [2, 1, 1, 1], [1, 1], [1, 1], [[0, 0], [0, 0]], 1, True),
        ([1, 3, 11, 10], [4, 3, 7, 7], [2, 2], [1, 1], [[3, 3], [3, 3]], 1, False),
        ([1, 10, 4, 6], [10, 1, 3, 3], [1, 2], [1, 1], [[1, 1], [1, 1]], 10, False),
        ([2, 9, 5, 4], [11, 9, 3, 3], [1, 1], [1, 1], [[1, 1], [1, 1]], 1, True),
    ]
    cases = []
    for x_shape, w_shape, stride, dilation, padding, groups, has_bias in grid:
        if padding == "SAME":
            pads = [tf_same(x_shape[2], w_shape[2], stride[0], dilation[0]),
                    tf_same(x_shape[3], w_shape[3], stride[1], dilation[1])]
        elif padding == "VALID":
            pads = [[0, 0], [0, 0]]
        else:
            pads = padding
        x = f32(*x_shape)
        w = f32(*w_shape)
        params = [w] + ([f32(w_shape[0])] if has_bias else [])

        def conv(x, w, b=None):
            xp = F.pad(x, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
            return F.conv2d(xp, w, b, stride=stride, dilation=dilation, groups=groups)

        y, r, first, second = grads(conv, x, params)
        cases.append({
            "x": {"shape": x_shape, "data": flat(x)},
            "w": {"shape": w_shape, "data": flat(w)},
            "bias": flat(params[1]) if has_bias else None,
            "stride": stride, "dilation": dilation, "padding": padding, "resolvedPadding": pads,
            "groups": groups,
            "r": flat(r), "y": {"shape": list(y.shape), "data": flat(y)},
            "dL1_dx": flat(first[0]), "dL1_dw": flat(first[1]), "dL1_db": flat(first[2]) if has_bias else None,
            "dL2_dx": flat(second[0]), "dL2_dw": flat(second[1]), "dL2_db": flat(second[2]) if has_bias else None,
        })
    return cases


def pool_cases():
    grid = [
        ("max", [2, 3, 7, 6], dict(kernel_size=[3, 3], stride=[2, 2], padding=[1, 1], dilation=[1, 1])),
        ("max", [1, 2, 9, 8], dict(kernel_size=[3, 2], stride=[1, 2], padding=[1, 0], dilation=[2, 1])),
        ("max", [2, 2, 5, 5], dict(kernel_size=[2, 2], stride=[2, 2], padding=[0, 0], dilation=[1, 1])),
        ("avg", [2, 3, 7, 6], dict(kernel_size=[3, 3], stride=[2, 2], padding=[1, 1], count_include_pad=True)),
        ("avg", [2, 3, 7, 6], dict(kernel_size=[3, 2], stride=[2, 1], padding=[1, 1], count_include_pad=False)),
        ("avg", [1, 2, 6, 6], dict(kernel_size=[2, 2], stride=[2, 2], padding=[0, 0], count_include_pad=True)),
        ("adaptive", [2, 3, 5, 4], dict(output_size=[1, 1])),
        ("adaptive", [2, 2, 7, 5], dict(output_size=[3, 2])),
    ]
    cases = []
    for kind, x_shape, opts in grid:
        x = f32(*x_shape)
        if kind == "max":
            fn = lambda x: F.max_pool2d(x, **opts)
        elif kind == "avg":
            fn = lambda x: F.avg_pool2d(x, **opts)
        else:
            fn = lambda x: F.adaptive_avg_pool2d(x, opts["output_size"])
        y, r, first, second = grads(fn, x, [])
        cases.append({
            "kind": kind, "options": opts, "x": {"shape": x_shape, "data": flat(x)},
            "r": flat(r), "y": {"shape": list(y.shape), "data": flat(y)},
            "dL1_dx": flat(first[0]), "dL2_dx": flat(second[0]),
        })
    return cases


def batch_norm_cases():
    cases = []
    for x_shape, eps in [([4, 3, 5, 4], 1e-5), ([2, 5, 3, 3], 1e-3), ([6, 4], 1e-5)]:
        c = x_shape[1]
        x = f32(*x_shape).mul(2).add(0.5)
        weight, bias = f32(c).add(1.5), f32(c)

        def bn(x, weight, bias):
            return F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)

        y, r, first, second = grads(bn, x, [weight, bias])
        axes = [0] + list(range(2, len(x_shape)))
        cases.append({
            "x": {"shape": x_shape, "data": flat(x)}, "weight": flat(weight), "bias": flat(bias), "eps": eps,
            "r": flat(r), "y": {"shape": list(y.shape), "data": flat(y)},
            "batchMean": flat(x.detach().mean(dim=axes)),
            "batchVarianceUnbiased": flat(x.detach().var(dim=axes, unbiased=True)),
            "dL1_dx": flat(first[0]), "dL1_dw": flat(first[1]), "dL1_db": flat(first[2]),
            "dL2_dx": flat(second[0]), "dL2_dw": flat(second[1]), "dL2_db": flat(second[2]),
        })
    return cases


def write(name, cases):
    path = os.path.join(OUT, name)
    with open(path + ".tmp", "w") as f:
        json.dump({"generator": "test/golden/conv_golden.py", "torch": torch.__version__, "cases": cases}, f)
    os.replace(path + ".tmp", path)
    print(f"{path}: {len(cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    write("conv_golden.json", conv_cases())
    write("pool_golden.json", pool_cases())
    write("batch_norm_golden.json", batch_norm_cases())
