/**
 * docs/harmonization.md §1.6–1.7: the pyramidal, token-weighted MSE between two stacks of maps.
 * P_0 = M, P_{i+1} = binomialDownsample(P_i); L = (1/L) Σ_i mean_{n,h,w} t_n (P_i(a) − P_i(b))².
 */
import type { Tensor } from "../tensor.ts";
import { add, div, mul, square, sub } from "../ops/elementwise.ts";
import { mean } from "../ops/reduce.ts";
import { reshape } from "../ops/movement.ts";
import { binomialDownsample } from "../ops/blur.ts";

export const PYRAMID_LEVELS = 5;

/** The maps of every pyramid level, finest first. */
export function blurPyramid(maps: Tensor, levels = PYRAMID_LEVELS): Tensor[] {
  const out = [maps];
  for (let i = 1; i < levels; i++) out.push(binomialDownsample(out[i - 1]));
  return out;
}

/** a, b: [N, H, W]; tokens: [N] of 0/1. Rows with t = 0 still count in each mean's denominator. */
export function pyramidalMse(a: Tensor, b: Tensor, tokens: Tensor, levels = PYRAMID_LEVELS): Tensor {
  if (a.rank !== 3 || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`pyramidalMse: maps must share one shape [N, H, W], got [${a.shape}] and [${b.shape}]`);
  }
  if (tokens.rank !== 1 || tokens.shape[0] !== a.shape[0]) {
    throw new Error(`pyramidalMse: tokens must be [${a.shape[0]}], got [${tokens.shape}]`);
  }
  const weights = reshape(tokens, [a.shape[0], 1, 1]);
  // The blur is linear (zero padding included): P_i(a) − P_i(b) = P_i(a − b), one pyramid instead of two.
  const differences = blurPyramid(sub(a, b), levels);
  let total: Tensor | null = null;
  for (let i = 0; i < levels; i++) {
    const level = mean(mul(weights, square(differences[i])));
    total = total ? add(total, level) : level;
  }
  return div(total!, levels);
}
