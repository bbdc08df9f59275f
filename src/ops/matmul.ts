/** Matrix products. */
import type { Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** [..., M, K] × [..., K, N] → [..., M, N]; one side may hold a single matrix for the whole batch. */
export function matmul(a: Tensor, b: Tensor, { transA = false, transB = false }: MatmulOptions = {}): Tensor {
  return apply("matmul", [a, b], { transA, transB });
}
