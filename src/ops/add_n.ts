/** addN: the sum of many tensors of one shape, a pass per ADD_N_MAX_OPERANDS operands instead of one per operand. */
import type { Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { ADD_N_MAX_OPERANDS } from "./kernels/add_n.ts";

/**
 * ((x0 + x1) + x2) + … for float32 tensors of one shape, summed left to right, so the result has the
 * bits of the chain of `add`s it replaces; beyond ADD_N_MAX_OPERANDS the running sum opens the next pass.
 * One tensor is returned as it is.
 */
export function addN(xs: readonly Tensor[]): Tensor {
  if (xs.length === 0) throw new Error("addN: needs at least one tensor");
  let total = xs[0];
  for (let i = 1; i < xs.length; i += ADD_N_MAX_OPERANDS - 1) {
    total = apply("addN", [total, ...xs.slice(i, i + ADD_N_MAX_OPERANDS - 1)], {});
  }
  return total;
}
