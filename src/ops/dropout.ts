/** Inverted dropout with a seeded mask: the same seed drops the same elements in every runtime. */
import type { Tensor } from "../tensor.ts";
import { randomUniform, zerosLike } from "./creation.ts";
import { div, greaterEqual, mul } from "./elementwise.ts";

export interface DropoutOptions {
  /** Probability of zeroing each element, in [0, 1]. */
  rate: number;
  /** Seed of the mask; pass a new one each step. */
  seed: number;
  /** Off (identity) unless true, as in evaluation mode. */
  training: boolean;
}

/** Zeroes each element with probability `rate` and scales the rest by 1/(1 − rate); identity in eval. */
export function dropout(x: Tensor, { rate, seed, training }: DropoutOptions): Tensor {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`dropout: rate must lie in [0, 1], got ${rate} (x ${x})`);
  if (!training || rate === 0) return x;
  if (rate === 1) return mul(x, zerosLike(x));
  const keep = greaterEqual(randomUniform(x.shape, { seed }), rate);
  return mul(x, div(keep, 1 - rate));
}
