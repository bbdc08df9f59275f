/** docs/harmonization.md §1.3: z(M)[n] = relu((M[n] − μ_n) / (σ_n + 1e-5)), population σ over each image's (h, w). */
import type { Tensor } from "../tensor.ts";
import { add, div, relu, sqrt, sub } from "../ops/elementwise.ts";
import { mean, variance } from "../ops/reduce.ts";

export const STANDARDIZE_EPSILON = 1e-5;

/** For maps [N, H, W]: standardise each map, then cut negative values. */
export function standardizeCut(maps: Tensor, epsilon = STANDARDIZE_EPSILON): Tensor {
  if (maps.rank !== 3) throw new Error(`standardizeCut: expects maps [N, H, W], got [${maps.shape}]`);
  const axes = [1, 2];
  const centred = sub(maps, mean(maps, axes, true));
  const sigma = sqrt(variance(maps, axes, true));
  return relu(div(centred, add(sigma, epsilon)));
}
