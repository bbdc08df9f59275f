/**
 * The op-spec table's rows for addN (src/ops/add_n.ts): 2 to 9 operands (past 6 the running sum opens
 * a second pass), in sizes that fill whole vec4s (main_vec4) and sizes that do not (main). addN is
 * linear, so a tanh after it gives the second order something to check.
 */
import type { OpSpec } from "../spec.ts";

const SHAPES: [string, number[]][] = [["vec4s", [2, 4]], ["scalars", [3, 3]]];

export const ADD_N_SPECS: OpSpec[] = SHAPES.flatMap(([label, shape]) =>
  [2, 3, 6, 7, 9].map((count): OpSpec => ({
    name: `addN of ${count} operands in ${label} [${shape}]`,
    inputs: Array.from({ length: count }, () => ({ shape })),
    fn: (o, ...xs) => o.tanh(o.addN(xs)),
  }))
);
