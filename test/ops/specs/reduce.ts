/**
 * The op-spec table's rows for sumSquares and for the reduction launch paths (src/ops/kernels/reduce.ts):
 * short rows one thread each whatever their number, few long rows split across threads
 * (reduce_partials, then a pass over the partials), many long rows one workgroup each.
 */
import type { OpSpec } from "../spec.ts";

export const REDUCE_SPECS: OpSpec[] = [
  { name: "sumSquares all", inputs: [{ shape: [3, 5, 2] }], fn: (o, x) => o.sumSquares(x, [0, 1, 2]) },
  { name: "sumSquares axes 0,2 keepDims", inputs: [{ shape: [3, 5, 2] }], fn: (o, x) => o.sumSquares(x, [0, 2], true) },
  {
    name: "sumSquares composed (a weight penalty's scalar times a loss)",
    inputs: [{ shape: [4, 3] }, { shape: [3] }],
    fn: (o, w, b) => o.mul(o.sumSquares(o.mul(w, b), [0, 1]), o.sum(b, [0])),
  },
  // The launch path changes the forward pass only (the rules are the same), so longer rows check values.
  { name: "sumSquares few long rows (split)", inputs: [{ shape: [2, 4500] }], fn: (o, x) => o.sumSquares(x, [1]), order: 0 },
  { name: "sumSquares of a permuted tensor, two runs", inputs: [{ shape: [3, 4, 5] }], fn: (o, x) => o.sumSquares(o.permute(x, [2, 0, 1]), [0, 2]) },
  { name: "sum few long rows (split)", inputs: [{ shape: [2, 4500] }], fn: (o, x) => o.sum(x, [1]), order: 0 },
  { name: "max few long rows (split)", inputs: [{ shape: [3, 9000] }], fn: (o, x) => o.max(x, [1]), order: 0 },
  { name: "min one long row (split)", inputs: [{ shape: [9000] }], fn: (o, x) => o.min(x, [0]), order: 0 },
  { name: "argmax one long row", inputs: [{ shape: [1, 9000] }], fn: (o, x) => o.argmax(x, 1), order: 0 },
  { name: "sum many long rows (a workgroup each)", inputs: [{ shape: [64, 4100] }], fn: (o, x) => o.sum(x, [1]), order: 0 },
  { name: "sum many short rows (a thread each)", inputs: [{ shape: [136, 192] }], fn: (o, x) => o.sum(x, [1]), order: 0 },
  {
    name: "sumSquares over 2^22 elements (split, partials of 1024)",
    inputs: [{ shape: [1 << 22], domain: "unit" }],
    fn: (o, x) => o.sumSquares(x, [0]),
    order: 0,
    rtol: 1e-6,
  },
  {
    name: "sum over 2^20 elements in rows of 2^18 (split)",
    inputs: [{ shape: [4, 1 << 18], domain: "unit" }],
    fn: (o, x) => o.sum(x, [1]),
    order: 0,
    rtol: 1e-6,
  },
];
