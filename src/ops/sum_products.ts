/** sumProducts: a per-column factor's cotangents from several elementwise products, summed in one pass. */
import { sameShape, type Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { reshape } from "./movement.ts";
import { shapeString } from "./shape.ts";
import { SUM_PRODUCTS_MAX_ROWS, SUM_PRODUCTS_MAX_TERMS } from "./kernels/sum_products.ts";

/**
 * Σᵢ Σ over the leading axes of aᵢ⊙bᵢ, for float32 operands [..., C] of one shape → [C] (what
 * sumTo(mul(g, x), [C]) gives for each pair, added). At most SUM_PRODUCTS_MAX_TERMS pairs.
 */
export function sumProducts(pairs: readonly (readonly [Tensor, Tensor])[]): Tensor {
  const shape = pairs[0]?.[0].shape;
  if (!shape || shape.length === 0 || pairs.some((pair) => pair.some((t) => !sameShape(t.shape, shape)))) {
    throw new Error(`sumProducts: expects pairs of operands [..., C] of one shape, got ${pairs.map((p) => p.map((t) => shapeString(t.shape)).join("·")).join(", ")}`);
  }
  const cols = shape[shape.length - 1];
  return apply("sumProducts", pairs.flatMap((pair) => pair.map((t) => reshape(t, [-1, cols]))), {});
}

/** Whether sumProducts takes these pairs in one pass: one shape, few enough pairs, rows within the kernel's loop limit. */
export function sumProductsFits(pairs: readonly (readonly [Tensor, Tensor])[]): boolean {
  const [a] = pairs[0];
  const cols = a.shape[a.rank - 1];
  return pairs.length <= SUM_PRODUCTS_MAX_TERMS && cols > 0 && a.size / cols <= SUM_PRODUCTS_MAX_ROWS &&
    pairs.every((pair) => pair.every((t) => sameShape(t.shape, a.shape)));
}
