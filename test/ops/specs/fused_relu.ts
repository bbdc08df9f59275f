/**
 * The op-spec table's rows for the fused ReLUs (src/ops/fused_relu.ts) and reluGrad, each checked
 * forward against float64 and to first and second order by finite differences. A ReLU has a kink
 * at 0 that finite differences cannot step across, so inputs keep outputs away from it: the
 * batch-norm rows' γ and β are "awayFromZero" (β shifts every output of a channel), and the
 * second order of batch norm + ReLU is batch norm's own cross-sample curvature under the mask.
 */
import type { OpSpec } from "../spec.ts";

const EPS = 1e-3;

export const FUSED_RELU_SPECS: OpSpec[] = [
  {
    name: "reluGrad broadcast",
    inputs: [{ shape: [3, 4] }, { shape: [4], domain: "awayFromZero" }],
    fn: (o, g, y) => o.reluGrad(g, y),
  },
  {
    name: "batchNormTrainRelu",
    inputs: [{ shape: [3, 2, 3, 2] }, { shape: [2], domain: "awayFromZero" }, { shape: [2], domain: "awayFromZero" }],
    fn: (o, x, w, b) => o.batchNormTrainRelu(x, w, b, EPS),
  },
  {
    name: "batchNormTrainRelu [N, C] composed with tanh",
    inputs: [{ shape: [5, 3] }, { shape: [3], domain: "awayFromZero" }, { shape: [3], domain: "awayFromZero" }],
    fn: (o, x, w, b) => o.tanh(o.batchNormTrainRelu(x, w, b, EPS)),
  },
  {
    name: "batchNormEvalRelu",
    inputs: [
      { shape: [2, 3, 2, 2] }, { shape: [3] }, { shape: [3], domain: "positive" }, { shape: [3], domain: "awayFromZero" },
      { shape: [3], domain: "awayFromZero" },
    ],
    fn: (o, x, m, v, w, b) => o.batchNormEvalRelu(x, m, v, w, b, EPS),
  },
  {
    name: "addRelu broadcast (a residual sum)",
    inputs: [{ shape: [2, 3, 2, 2], domain: "awayFromZero" }, { shape: [1, 3, 1, 1], domain: "awayFromZero" }],
    fn: (o, a, b) => o.mul(o.addRelu(a, b), a),
  },
];
