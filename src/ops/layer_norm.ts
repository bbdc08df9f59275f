/**
 * Layer normalisation over the trailing axes. Two ways, the same values to float32 rounding:
 *   fused:    the normalisation x̂ is the primitive `layerNormalize` (one kernel per row), its
 *             gradient the primitive `layerNormalizeBackward`, whose own gradient
 *             (`layerNormalizeBackwardVjp`) is written with public ops, so any order works;
 *   composed: mean, centring, variance and rsqrt from elementwise primitives and reductions.
 * The weight and bias are applied with elementwise ops either way.
 */
import type { Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { add, mul, rsqrt, sub } from "./elementwise.ts";
import { reshape } from "./movement.ts";
import { moments, sum } from "./reduce.ts";
import { shapeString } from "./shape.ts";
import { fusedLayerNormFits } from "./kernels/layer_norm.ts";

export type LayerNormImplementation = "fused" | "composed";

export interface LayerNormOptions {
  /** Per-element scale, shaped like the normalised trailing axes. */
  weight?: Tensor;
  /** Per-element shift, shaped like the normalised trailing axes. */
  bias?: Tensor;
  /** Added to the variance before the square root (default 1e-5, torch's; timm's ViT uses 1e-6). */
  eps?: number;
  /** Default "fused" where its kernels take x (float32, at most 16 383 normalised values per row), else "composed". */
  implementation?: LayerNormImplementation;
}

/**
 * (x − mean) / √(var + eps) · weight + bias, with the population variance taken over the trailing
 * axes given as their shape (torch's `normalized_shape`) or as how many trailing axes to use.
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], options: LayerNormOptions = {}): Tensor {
  const { weight, bias, eps = 1e-5 } = options;
  const trailing = typeof normalizedShape === "number" ? x.shape.slice(x.rank - normalizedShape) : normalizedShape;
  const count = trailing.length;
  const fits = count >= 1 && count <= x.rank && trailing.every((d, i) => d === x.shape[x.rank - count + i]);
  if (!fits) {
    throw new Error(`layerNorm: normalized shape ${shapeString(trailing)} is not a trailing part of x ${shapeString(x.shape)}`);
  }
  for (const [name, p] of [["weight", weight], ["bias", bias]] as const) {
    if (p && (p.rank !== count || p.shape.some((d, i) => d !== trailing[i]))) {
      throw new Error(`layerNorm: ${name} ${shapeString(p.shape)} must have the normalized shape ${shapeString(trailing)}`);
    }
  }
  const fusable = fusedLayerNormFits(trailing.reduce((a, b) => a * b, 1), x.dtype);
  const implementation = options.implementation ?? (fusable ? "fused" : "composed");
  if (implementation === "fused" && !fusable) {
    throw new Error(`layerNorm: the fused kernels need float32 x with at most 16 383 normalised values per row (x ${x}); use "composed"`);
  }
  let y = implementation === "fused" ? fusedNormalize(x, count, eps) : composedNormalize(x, count, eps);
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}

function fusedNormalize(x: Tensor, count: number, eps: number): Tensor {
  if (count === 1) return layerNormalize(x, eps);
  return reshape(layerNormalize(reshape(x, [...x.shape.slice(0, x.rank - count), -1]), eps), x.shape);
}

function composedNormalize(x: Tensor, count: number, eps: number): Tensor {
  const axes = Array.from({ length: count }, (_, i) => x.rank - count + i);
  const { centred, variance } = moments(x, axes);
  return mul(centred, rsqrt(add(variance, eps)));
}

/** x̂ = (x − mean)·rsqrt(var + eps) over the last axis of x, in one kernel. */
export const layerNormalize = (x: Tensor, eps: number): Tensor => apply("layerNormalize", [x], { eps });
/** The gradient of ⟨g, layerNormalize(x)⟩ with respect to x, in one kernel. */
export const layerNormalizeBackward = (x: Tensor, g: Tensor, eps: number): Tensor => apply("layerNormalizeBackward", [x, g], { eps });

/**
 * The gradient of ⟨h, layerNormalizeBackward(x, g)⟩ with respect to x, in one kernel. With
 * dx = r·(g − Sg/n − x̂·Sgx/n) per row of n values, Sg = Σg, Sgx = Σg·x̂, r = rsqrt(var + eps), and
 * Hx = Σh, Hxx = Σh·x̂, Shg = Σh·g (batch norm's formula, src/ops/batch_norm_primitives.ts, with
 * rows for channels and γ = 1):
 *   q·(Sgx·h + Hxx·g − (Sgx·Hx + Hxx·Sg)/n + (K − 2·Sgx·Hxx/n)·x̂),  q = −r²/n, K = Shg − (Hx·Sg + Hxx·Sgx)/n
 */
export const layerNormalizeDoubleBackward = (x: Tensor, g: Tensor, h: Tensor, eps: number): Tensor =>
  apply("layerNormalizeDoubleBackward", [x, g, h], { eps });

/**
 * layerNormalizeBackward's gradient. Per row x̂ is the gradient of ψ(x) = n·√(var + eps), so
 * layerNormalizeBackward(x, g) is ψ″·g and layerNormalizeDoubleBackward(x, g, h) is ψ‴[g, h]:
 * ∂g = ψ″·h = layerNormalizeBackward(x, h), ∂x = layerNormalizeDoubleBackward(x, g, h). The
 * double backward's kernel writes ψ″·h in the same pass, which the first call then takes.
 */
export function layerNormalizeBackwardVjp(h: Tensor, x: Tensor, g: Tensor, eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  return [
    wants[0] ? layerNormalizeDoubleBackward(x, g, h, eps) : null,
    wants[1] ? layerNormalizeBackward(x, h, eps) : null,
  ];
}

/**
 * layerNormalizeDoubleBackward's gradient for a cotangent k. ψ‴ is symmetric in its three
 * directions, so ∂g = ψ‴[h, k] and ∂h = ψ‴[g, k] are the kernel again. ∂x differentiates
 * L = ⟨k, ψ‴[g, h]⟩ = q·(a·Hk + b·Gk − (a·Hx + b·Sg)·Sk/n + (Shg − Hx·Sg/n − 3ab/n)·c) per row,
 * where a = Σg·x̂, b = Σh·x̂, c = Σk·x̂ and q = −r²/n depend on x (the other sums do not):
 *   ∂x = ∂L/∂q·2r³/n²·x̂ + ∂L/∂a·ψ″·g + ∂L/∂b·ψ″·h + ∂L/∂c·ψ″·k,
 * since ∂q/∂x = 2r³·x̂/n² and ∂(Σu·x̂)/∂x = ψ″·u = layerNormalizeBackward(x, u).
 */
export function layerNormalizeDoubleBackwardVjp(k: Tensor, [x, g, h]: Tensor[], eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  const dx = () => {
    const last = x.rank - 1;
    const n = x.shape[last];
    const rowSum = (t: Tensor) => sum(t, [last], true);
    const normalized = layerNormalize(x, eps);
    const r = rsqrt(add(moments(x, [last]).variance, eps));
    const [a, b, c] = [g, h, k].map((u) => rowSum(mul(u, normalized)));
    const [sg, hx, sk, shg, hk, gk] = [g, h, k, mul(h, g), mul(h, k), mul(g, k)].map(rowSum);
    const q = mul(mul(r, r), -1 / n);
    const cross = sub(sub(shg, mul(mul(hx, sg), 1 / n)), mul(mul(a, b), 3 / n));
    const byQ = add(sub(add(mul(a, hk), mul(b, gk)), mul(mul(add(mul(a, hx), mul(b, sg)), sk), 1 / n)), mul(cross, c));
    const byA = mul(q, sub(sub(hk, mul(mul(hx, sk), 1 / n)), mul(mul(b, c), 3 / n)));
    const byB = mul(q, sub(sub(gk, mul(mul(sg, sk), 1 / n)), mul(mul(a, c), 3 / n)));
    const byX = mul(byQ, mul(mul(mul(r, r), r), 2 / (n * n)));
    const through = (u: Tensor, coefficient: Tensor) => mul(layerNormalizeBackward(x, u, eps), coefficient);
    return add(add(mul(normalized, byX), through(g, byA)), add(through(h, byB), through(k, mul(q, cross))));
  };
  return [
    wants[0] ? dx() : null,
    wants[1] ? layerNormalizeDoubleBackward(x, h, k, eps) : null,
    wants[2] ? layerNormalizeDoubleBackward(x, g, k, eps) : null,
  ];
}
