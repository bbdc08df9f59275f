/** Gather/scatter along an axis, dtype casts and one-hot encoding. */
import type { Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { normalizeAxis } from "./shape.ts";
import { arange } from "./creation.ts";
import { equal } from "./elementwise.ts";
import { reshape } from "./movement.ts";

/** out[…i…] = x[… indices[…i…] at `axis` …]; `indices` (int32) matches x off the axis. */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  return apply("gather", [x, indices], { axis: normalizeAxis("gather", axis, x.rank) });
}

/** Zeros with `size` along `axis`, then out[… indices[i] …] += src[i]: the adjoint of gather. */
export function scatterAdd(src: Tensor, indices: Tensor, axis: number, size: number): Tensor {
  return apply("scatterAdd", [src, indices], { axis: normalizeAxis("scatterAdd", axis, src.rank), size });
}

export function cast(x: Tensor, dtype: "float32" | "int32"): Tensor {
  return apply("cast", [x], { dtype });
}

/** float32 one-hot rows [..., classes] from integer labels [...] (int32 or float32). */
export function oneHot(labels: Tensor, classes: number): Tensor {
  const asFloat = labels.dtype === "float32" ? labels : cast(labels, "float32");
  return equal(reshape(asFloat, [...labels.shape, 1]), arange(classes));
}
