/**
 * Separable filtering over the last two axes (H, W) of a tensor: two 1-D correlation passes.
 * The blur pyramid's downsampling step and the data pipeline's Gaussian blur are both this.
 */
import type { Tensor } from "../tensor.ts";
import type { Correlate1dAttrs } from "../primitive.ts";
import { apply } from "./apply.ts";
import { gaussianTaps } from "./gaussian.ts";
import { tfSamePadding } from "./same_padding.ts";

export function correlate1d(x: Tensor, attrs: Correlate1dAttrs): Tensor {
  return apply("correlate1d", [x], attrs);
}

export function correlate1dAdjoint(g: Tensor, attrs: Correlate1dAttrs): Tensor {
  return apply("correlate1dAdjoint", [g], attrs);
}

function pass(x: Tensor, axis: number, taps: readonly number[], stride: number): Tensor {
  const size = x.shape[axis];
  const { before, outSize } = tfSamePadding(size, taps.length, stride);
  return correlate1d(x, { axis, taps: [...taps], stride, padBefore: before, inSize: size, outSize });
}

export interface SeparableFilterOptions {
  /** Taps down the rows (along H). */
  rowTaps: readonly number[];
  /** Taps across the columns (along W). */
  colTaps: readonly number[];
  stride?: number;
}

/** Zero-padded TF-SAME correlation of the last two axes with the outer product rowTaps ⊗ colTaps. */
export function separableFilter2d(x: Tensor, { rowTaps, colTaps, stride = 1 }: SeparableFilterOptions): Tensor {
  if (x.rank < 2) throw new Error(`separableFilter2d: needs [..., H, W], got [${x.shape}]`);
  const across = pass(x, x.rank - 1, colTaps, stride);
  const out = pass(across, x.rank - 2, rowTaps, stride);
  across.dispose();
  return out;
}

const BINOMIAL_5 = [1, 4, 6, 4, 1].map((v) => v / 16);

/** One level of the harmonization pyramid: 5×5 binomial (outer([1,4,6,4,1])/256), stride 2, TF SAME. */
export function binomialDownsample(x: Tensor): Tensor {
  return separableFilter2d(x, { rowTaps: BINOMIAL_5, colTaps: BINOMIAL_5, stride: 2 });
}

/** The ClickMe heatmap blur (docs/harmonization.md §2.4): 10×10, σ = 10, TF SAME, as separable taps. */
export function gaussianBlur2d(x: Tensor, size = 10, sigma = 10): Tensor {
  const { rows, cols } = gaussianTaps(size, sigma);
  return separableFilter2d(x, { rowTaps: Array.from(rows), colTaps: Array.from(cols) });
}
