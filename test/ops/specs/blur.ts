/** The op-spec table's rows for the separable-filter primitives (correlate1d and its adjoint). */
import type { OpSpec } from "../spec.ts";

const attrs = { axis: 1, taps: [0.25, -0.5, 1, 0.75, 0.1], stride: 2, padBefore: 1, inSize: 9, outSize: 5 };

export const BLUR_SPECS: OpSpec[] = [
  {
    name: "correlate1d stride 2 along the middle axis",
    inputs: [{ shape: [2, 9, 3] }],
    fn: (o, x) => o.correlate1d(o.mul(x, x), attrs),
  },
  {
    name: "correlate1dAdjoint stride 2 along the last axis",
    inputs: [{ shape: [3, 5] }],
    fn: (o, g) => o.correlate1dAdjoint(o.tanh(g), { ...attrs, axis: 1 }),
  },
];
