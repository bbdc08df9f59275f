/** Reductions over any set of axes (all axes by default). */
import type { Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { normalizeAxes, normalizeAxis } from "./shape.ts";
import { div, exp, log, sub, add, square } from "./elementwise.ts";
import { reshape, stopGradient } from "./movement.ts";

export type Axes = number | readonly number[];

export function sum(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return apply("sum", [x], { axes: normalizeAxes("sum", axes, x.rank), keepDims });
}

/** Σ x² over `axes` (all by default) in one pass, without a squared copy of x. */
export function sumSquares(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return apply("sumSquares", [x], { axes: normalizeAxes("sumSquares", axes, x.rank), keepDims });
}

export function max(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return apply("max", [x], { axes: normalizeAxes("max", axes, x.rank), keepDims });
}

export function min(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return apply("min", [x], { axes: normalizeAxes("min", axes, x.rank), keepDims });
}

/** Index (int32) of the first maximum along `axis`. */
export function argmax(x: Tensor, axis = -1, keepDims = false): Tensor {
  return apply("argmax", [x], { axis: normalizeAxis("argmax", axis, x.rank), keepDims });
}

export function mean(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const list = normalizeAxes("mean", axes, x.rank);
  const count = list.reduce((n, a) => n * x.shape[a], 1);
  return div(sum(x, list, keepDims), count);
}

/** The mean over `axes`, x minus it, and the population variance; means and variance keep the reduced axes. */
export function moments(x: Tensor, axes?: Axes): { mean: Tensor; centred: Tensor; variance: Tensor } {
  const list = normalizeAxes("moments", axes, x.rank);
  const mu = mean(x, list, true);
  const centred = sub(x, mu);
  return { mean: mu, centred, variance: mean(square(centred), list, true) };
}

/** Population variance (divides by the count), as batch norm and docs/harmonization.md §1.3 use. */
export function variance(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const list = normalizeAxes("variance", axes, x.rank);
  const kept = moments(x, list).variance;
  return keepDims ? kept : reshape(kept, x.shape.filter((_, i) => !list.includes(i)));
}

/** log Σ exp x, stable: the maximum is factored out (without gradient; it cancels). */
export function logSumExp(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const list = normalizeAxes("logSumExp", axes, x.rank);
  const peak = stopGradient(max(x, list, true));
  const total = add(log(sum(exp(sub(x, peak)), list, true)), peak);
  return keepDims ? total : reshape(total, x.shape.filter((_, i) => !list.includes(i)));
}
