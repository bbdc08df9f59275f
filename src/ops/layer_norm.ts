/** Layer normalisation over the trailing axes, composed from primitives (differentiable to any order). */
import type { Tensor } from "../tensor.ts";
import { add, mul, rsqrt } from "./elementwise.ts";
import { moments } from "./reduce.ts";
import { shapeString } from "./shape.ts";

export interface LayerNormOptions {
  /** Per-element scale, shaped like the normalised trailing axes. */
  weight?: Tensor;
  /** Per-element shift, shaped like the normalised trailing axes. */
  bias?: Tensor;
  /** Added to the variance before the square root (default 1e-5, torch's; timm's ViT uses 1e-6). */
  eps?: number;
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
  const axes = trailing.map((_, i) => x.rank - count + i);
  const { centred, variance } = moments(x, axes);
  let y = mul(centred, rsqrt(add(variance, eps)));
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}
