/** Matrix products. */
import type { Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { type MatrixProduct, matmulSumShape } from "./kernels/matmul_sum.ts";

export { type MatrixProduct, matmulSumFuses } from "./kernels/matmul_sum.ts";

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** [..., M, K] × [..., K, N] → [..., M, N]; one side may hold a single matrix for the whole batch. */
export function matmul(a: Tensor, b: Tensor, { transA = false, transB = false }: MatmulOptions = {}): Tensor {
  return apply("matmul", [a, b], { transA, transB });
}

/**
 * Σᵢ op(aᵢ)·op(bᵢ) of matrices with one [M, N] shape. On the texture kernels the operands are laid
 * side by side along K and multiplied once (where each term's K is a multiple of 4); otherwise each
 * product is computed and added in order.
 */
export function matmulSum(terms: readonly MatrixProduct[]): Tensor {
  matmulSumShape(terms);
  return apply("matmulSum", terms.flatMap((t) => [t.a, t.b]), { transA: terms.map((t) => t.transA), transB: terms.map((t) => t.transB) });
}
