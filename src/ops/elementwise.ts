/** Elementwise ops with numpy broadcasting. Numbers are accepted where a tensor is expected. */
import type { Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { scalar } from "./creation.ts";

export type TensorLike = Tensor | number;

function t(x: TensorLike): Tensor {
  return typeof x === "number" ? scalar(x) : x;
}

export const neg = (x: Tensor): Tensor => apply("neg", [x], {});
export const exp = (x: Tensor): Tensor => apply("exp", [x], {});
export const log = (x: Tensor): Tensor => apply("log", [x], {});
export const sqrt = (x: Tensor): Tensor => apply("sqrt", [x], {});
export const rsqrt = (x: Tensor): Tensor => apply("rsqrt", [x], {});
export const abs = (x: Tensor): Tensor => apply("abs", [x], {});
export const sign = (x: Tensor): Tensor => apply("sign", [x], {});
export const tanh = (x: Tensor): Tensor => apply("tanh", [x], {});
export const erf = (x: Tensor): Tensor => apply("erf", [x], {});
export const relu = (x: Tensor): Tensor => apply("relu", [x], {});

export const add = (a: TensorLike, b: TensorLike): Tensor => apply("add", [t(a), t(b)], {});
export const sub = (a: TensorLike, b: TensorLike): Tensor => apply("sub", [t(a), t(b)], {});
export const mul = (a: TensorLike, b: TensorLike): Tensor => apply("mul", [t(a), t(b)], {});
export const div = (a: TensorLike, b: TensorLike): Tensor => apply("div", [t(a), t(b)], {});
export const pow = (a: TensorLike, b: TensorLike): Tensor => apply("pow", [t(a), t(b)], {});
export const maximum = (a: TensorLike, b: TensorLike): Tensor => apply("maximum", [t(a), t(b)], {});
export const minimum = (a: TensorLike, b: TensorLike): Tensor => apply("minimum", [t(a), t(b)], {});

/** Comparisons give 1.0 where true, 0.0 where false; they carry no gradient. */
export const less = (a: TensorLike, b: TensorLike): Tensor => apply("less", [t(a), t(b)], {});
export const lessEqual = (a: TensorLike, b: TensorLike): Tensor => apply("lessEqual", [t(a), t(b)], {});
export const greater = (a: TensorLike, b: TensorLike): Tensor => apply("greater", [t(a), t(b)], {});
export const greaterEqual = (a: TensorLike, b: TensorLike): Tensor => apply("greaterEqual", [t(a), t(b)], {});
export const equal = (a: TensorLike, b: TensorLike): Tensor => apply("equal", [t(a), t(b)], {});
export const notEqual = (a: TensorLike, b: TensorLike): Tensor => apply("notEqual", [t(a), t(b)], {});

/** g where y > 0, else 0: ReLU's backward (y its input or output) in one kernel. */
export const reluGrad = (g: TensorLike, y: TensorLike): Tensor => apply("reluGrad", [t(g), t(y)], {});
/** g·gelu′(x), gelu′(x) = Φ(x) + x·φ(x): the exact GELU's backward in one kernel. */
export const geluGrad = (g: TensorLike, x: TensorLike): Tensor => apply("geluGrad", [t(g), t(x)], {});
/** g·gelu″(x), gelu″(x) = φ(x)·(2 − x²): the x-part of geluGrad's gradient in one kernel. */
export const geluSecondGrad = (g: TensorLike, x: TensorLike): Tensor => apply("geluSecondGrad", [t(g), t(x)], {});

/** a where cond ≠ 0, else b. */
export const where = (cond: Tensor, a: TensorLike, b: TensorLike): Tensor => apply("where", [cond, t(a), t(b)], {});

// Compositions.
export const square = (x: Tensor): Tensor => mul(x, x);
export const reciprocal = (x: Tensor): Tensor => div(1, x);
/** 1 / (1 + e^{−x}), written with tanh so it never overflows. */
export const sigmoid = (x: Tensor): Tensor => add(0.5, mul(0.5, tanh(mul(0.5, x))));
export const clip = (x: Tensor, low: number, high: number): Tensor => minimum(maximum(x, low), high);
