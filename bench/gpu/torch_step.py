#!/usr/bin/env python3
"""PyTorch eager reference for bench/gpu: matmul N^3, conv 56^2 64->64 3x3 forward+backward, and one
harmonized SGD step of torchvision's ResNet-50 (the loss of docs/harmonization.md section 1:
signed channel-mean saliency from torch.autograd.grad(create_graph=True), standardise-and-cut,
five-level TF-SAME binomial pyramid MSE weighted by tokens, smoothed cross-entropy, L_w), in
float32 on CUDA. Prints one JSON object for bench/gpu/main.ts (--torch FILE); bench/gpu/run.sh
runs both.

    python3 bench/gpu/torch_step.py [--dry-run] [--batch 16] [--size 224] [--reps 5]

--dry-run: tiny sizes on the CPU, one repetition (checks the script anywhere).
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

LAMBDA_W, LAMBDA_H, SMOOTHING, LEVELS, CLASSES, LR = 1e-5, 1.0, 0.1, 5, 1000, 0.01


def standardize_cut(m):
    mu = m.mean(dim=(1, 2), keepdim=True)
    sigma = m.std(dim=(1, 2), keepdim=True, unbiased=False)  # population sigma (section 1.3)
    return torch.relu((m - mu) / (sigma + 1e-5))


def tf_same(size):
    out = -(-size // 2)
    total = max((out - 1) * 2 + 5 - size, 0)
    return total // 2, total - total // 2


def pyramid_down(m, kernel):
    (top, bottom), (left, right) = tf_same(m.shape[1]), tf_same(m.shape[2])
    return F.conv2d(F.pad(m[:, None], (left, right, top, bottom)), kernel, stride=2)[:, 0]


def harmonization(saliency, heatmaps, tokens, kernel):
    s, h = standardize_cut(saliency), standardize_cut(heatmaps)
    s_max = s.amax(dim=(1, 2), keepdim=True).detach()  # no gradient through the saliency max (1.5)
    h = h / (h.amax(dim=(1, 2), keepdim=True) + 1e-6) * (s_max + 1e-6)
    total, a, b = 0.0, s, h
    for i in range(LEVELS):
        total = total + (tokens[:, None, None] * (a - b) ** 2).mean()
        if i < LEVELS - 1:
            a, b = pyramid_down(a, kernel), pyramid_down(b, kernel)
    return total / LEVELS


def decayed(name):
    return not (".bn" in name or name.startswith("bn") or ".downsample.1." in name)


def harmonized_loss(model, x, heatmaps, labels, tokens, kernel):
    x = x.clone().requires_grad_(True)
    logits = model(x)
    onehot = F.one_hot(labels, CLASSES).to(logits.dtype)
    (gradient,) = torch.autograd.grad((logits * onehot).sum(), x, create_graph=True)
    harm = harmonization(gradient.mean(dim=1), heatmaps, tokens, kernel)
    target = (1 - SMOOTHING) * onehot + SMOOTHING / CLASSES
    cce = -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    l2 = sum(0.5 * (p ** 2).sum() for n, p in model.named_parameters() if decayed(n))
    return cce + LAMBDA_W * l2 + LAMBDA_H * harm


def timed(fn, warmup, reps, sync):
    for _ in range(warmup):
        fn()
    sync()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--batch", type=int)
    parser.add_argument("--size", type=int)
    parser.add_argument("--reps", type=int)
    args, _ = parser.parse_known_args()  # bench/gpu/run.sh passes the Deno side's flags too
    dry = args.dry_run
    if not dry and not torch.cuda.is_available():
        sys.exit("torch_step.py: CUDA is not available (use --dry-run to check the script on the CPU)")
    device = torch.device("cpu" if dry else "cuda")
    batch = args.batch or (2 if dry else 16)
    size = args.size or (16 if dry else 224)
    reps = args.reps or (1 if dry else 5)
    warmup = 1 if dry else 2
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    gen = torch.Generator().manual_seed(0)
    rand = lambda *shape: (torch.rand(*shape, generator=gen) * 2 - 1).to(device)  # noqa: E731

    n = 64 if dry else 4096
    a, b = rand(n, n), rand(n, n)
    matmul_s = timed(lambda: a @ b, warmup, reps, sync)

    conv = (2, 4, 8) if dry else (batch, 64, 56)
    x = rand(conv[0], conv[1], conv[2], conv[2]).requires_grad_(True)
    w = rand(conv[1], conv[1], 3, 3).requires_grad_(True)
    conv_s = timed(lambda: torch.autograd.grad(F.conv2d(x, w, padding=1).sum(), [x, w]), warmup, reps, sync)
    conv_flops = 3 * 2 * conv[0] * conv[1] * conv[1] * 9 * conv[2] * conv[2]

    model = torchvision.models.resnet50(num_classes=CLASSES).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    images, heatmaps = rand(batch, 3, size, size), rand(batch, size, size)
    labels = (torch.arange(batch) + 1).remainder(CLASSES).to(device)
    tokens = torch.tensor([0.0 if i % 4 == 3 else 1.0 for i in range(batch)], device=device)
    binomial = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    kernel = (torch.outer(binomial, binomial) / 256.0)[None, None].to(device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        harmonized_loss(model, images, heatmaps, labels, tokens, kernel).backward()
        optimizer.step()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step_s = timed(step, warmup, reps, sync)
    # Everything allocated at the peak (weights, batch, activations), as Harmonize's pool reports.
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else None
    print(json.dumps({
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "matmul_gflops": 2 * n ** 3 / matmul_s / 1e9,
        "conv_train_gflops": conv_flops / conv_s / 1e9,
        "step_seconds": step_s,
        "peak_bytes": peak,
        "batch": batch,
        "size": size,
    }))


if __name__ == "__main__":
    main()
