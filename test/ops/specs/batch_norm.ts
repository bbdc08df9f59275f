/**
 * The op-spec table's rows for the fused batch-norm primitives: each checked forward against float64 and
 * to first and second order by finite differences. The backward primitives' second order is the
 * third order of batch norm (their gradients are composed). Shapes with more values per channel
 * than lavapipe lets one invocation loop over check the kernels' chunked reductions; planes longer
 * than the threads that share a row (8) check the elementwise passes' loops.
 */
import type { OpSpec } from "../spec.ts";

const EPS = 1e-3;

export const BATCH_NORM_SPECS: OpSpec[] = [
  {
    name: "batchNormStats",
    inputs: [{ shape: [3, 2, 3, 2] }],
    fn: (o, x) => o.batchNormStats(x),
  },
  {
    name: "batchNormTrain NCHW",
    inputs: [{ shape: [3, 2, 3, 2] }, { shape: [2] }, { shape: [2] }],
    fn: (o, x, w, b) => o.batchNormTrain(x, w, b, EPS),
  },
  {
    name: "batchNormTrain [N, C]",
    inputs: [{ shape: [5, 3] }, { shape: [3] }, { shape: [3] }],
    fn: (o, x, w, b) => o.batchNormTrain(x, w, b, EPS),
  },
  {
    name: "batchNormTrain composed with tanh (cross-sample second order)",
    inputs: [{ shape: [2, 3, 2, 2] }, { shape: [3] }, { shape: [3] }],
    fn: (o, x, w, b) => o.tanh(o.batchNormTrain(x, w, b, EPS)),
  },
  {
    name: "batchNormEval",
    inputs: [{ shape: [2, 3, 2, 2] }, { shape: [3] }, { shape: [3], domain: "positive" }, { shape: [3] }, { shape: [3] }],
    fn: (o, x, m, v, w, b) => o.batchNormEval(x, m, v, w, b, EPS),
  },
  {
    name: "batchNormTrainBackward",
    inputs: [{ shape: [3, 2, 2, 2] }, { shape: [2] }, { shape: [3, 2, 2, 2] }],
    fn: (o, x, w, g) => o.batchNormTrainBackward(x, w, g, EPS),
  },
  {
    name: "batchNormAffineGrad",
    inputs: [{ shape: [3, 2, 2, 2] }, { shape: [3, 2, 2, 2] }],
    fn: (o, x, g) => o.batchNormAffineGrad(x, g, EPS),
  },
  {
    name: "batchNormBackwardSums",
    inputs: [{ shape: [3, 2, 2, 2] }, { shape: [3, 2, 2, 2] }, { shape: [3, 2, 2, 2] }],
    fn: (o, x, g, h) => o.batchNormBackwardSums(x, g, h, EPS),
  },
  {
    name: "batchNormBackwardSums [N, C]",
    inputs: [{ shape: [5, 3] }, { shape: [5, 3] }, { shape: [5, 3] }],
    fn: (o, x, g, h) => o.batchNormBackwardSums(x, g, h, EPS),
  },
  {
    name: "batchNormMix one term",
    inputs: [{ shape: [3, 2, 2, 2] }, { shape: [3, 2] }, { shape: [3, 2, 2, 2] }],
    fn: (o, x, c, u) => o.batchNormMix(x, c, [u], EPS),
  },
  {
    name: "batchNormMix two terms",
    inputs: [{ shape: [3, 2, 2, 2] }, { shape: [4, 2] }, { shape: [3, 2, 2, 2] }, { shape: [3, 2, 2, 2] }],
    fn: (o, x, c, u, v) => o.batchNormMix(x, c, [u, v], EPS),
  },
  {
    name: "batchNormMix two terms, rows longer than the threads sharing them (3×3 planes)",
    inputs: [{ shape: [2, 2, 3, 3] }, { shape: [4, 2] }, { shape: [2, 2, 3, 3] }, { shape: [2, 2, 3, 3] }],
    fn: (o, x, c, u, v) => o.batchNormMix(x, c, [u, v], EPS),
  },
  {
    name: "batchNormMix with 13×13 planes",
    inputs: [{ shape: [2, 3, 13, 13] }, { shape: [3, 3] }, { shape: [2, 3, 13, 13] }],
    fn: (o, x, c, u) => o.batchNormMix(x, c, [u], EPS),
    order: 0,
  },
  {
    name: "batchNormMix two terms, vec4s of 8×8 planes (two per thread)",
    inputs: [{ shape: [2, 2, 8, 8] }, { shape: [4, 2] }, { shape: [2, 2, 8, 8] }, { shape: [2, 2, 8, 8] }],
    fn: (o, x, c, u, v) => o.batchNormMix(x, c, [u, v], EPS),
  },
  {
    name: "batchNormMix one term, vec4s of 6×2 planes (three threads a row)",
    inputs: [{ shape: [2, 3, 6, 2] }, { shape: [3, 3] }, { shape: [2, 3, 6, 2] }],
    fn: (o, x, c, u) => o.batchNormMix(x, c, [u], EPS),
  },
  {
    name: "batchNormMix from coefficient row 2 of 6, one term",
    inputs: [{ shape: [3, 2, 2, 2] }, { shape: [6, 2] }, { shape: [3, 2, 2, 2] }],
    fn: (o, x, c, u) => o.batchNormMix(x, c, [u], EPS, 2),
  },
  {
    name: "batchNormMix from coefficient row 1 of 6, two terms",
    inputs: [{ shape: [3, 2, 2, 2] }, { shape: [6, 2] }, { shape: [3, 2, 2, 2] }, { shape: [3, 2, 2, 2] }],
    fn: (o, x, c, u, v) => o.batchNormMix(x, c, [u, v], EPS, 1),
  },
  {
    name: "batchNormMixCoefficients",
    inputs: [{ shape: [5, 3] }, { shape: [2, 3], domain: "positive" }, { shape: [3] }],
    fn: (o, sums, stats, w) => o.batchNormMixCoefficients(sums, stats, w, EPS, 7),
  },
  {
    name: "batchNormMixCoefficients of a batch norm's sums and statistics (through x, g, h)",
    inputs: [{ shape: [2, 3, 2, 2] }, { shape: [3] }, { shape: [2, 3, 2, 2] }, { shape: [2, 3, 2, 2] }],
    fn: (o, x, w, g, h) => o.batchNormMixCoefficients(o.batchNormBackwardSums(x, g, h, EPS), o.batchNormStats(x), w, EPS, 8),
  },
  {
    name: "batchNormTrainBackward composed with tanh (its gradient's cross-sample terms)",
    inputs: [{ shape: [2, 3, 2, 2] }, { shape: [3] }, { shape: [2, 3, 2, 2] }],
    fn: (o, x, w, g) => o.tanh(o.batchNormTrainBackward(x, w, g, EPS)),
  },
  {
    name: "batchNormTrainBackward with a partial's stride longer than a plane ([100, 2, 3]: 5 partials per channel)",
    inputs: [{ shape: [100, 2, 3] }, { shape: [2] }, { shape: [100, 2, 3] }],
    fn: (o, x, w, g) => o.batchNormTrainBackward(x, w, g, EPS),
    order: 1,
  },
  {
    name: "batchNormBackwardSums with a partial's stride longer than a plane ([100, 2, 3])",
    inputs: [{ shape: [100, 2, 3] }, { shape: [100, 2, 3] }, { shape: [100, 2, 3] }],
    fn: (o, x, g, h) => o.batchNormBackwardSums(x, g, h, EPS),
    order: 0,
  },
  {
    name: "batchNormTrainBackward in vec4s with a partial's stride longer than a plane ([100, 2, 4]: 7 partials per channel)",
    inputs: [{ shape: [100, 2, 4] }, { shape: [2] }, { shape: [100, 2, 4] }],
    fn: (o, x, w, g) => o.batchNormTrainBackward(x, w, g, EPS),
    order: 1,
  },
  {
    name: "batchNormBackwardSums in vec4s with a partial's stride longer than a plane ([100, 2, 4])",
    inputs: [{ shape: [100, 2, 4] }, { shape: [100, 2, 4] }, { shape: [100, 2, 4] }],
    fn: (o, x, g, h) => o.batchNormBackwardSums(x, g, h, EPS),
    order: 0,
  },
  {
    name: "batchNormTrain with 80000 values per channel (chunked reductions)",
    inputs: [{ shape: [2, 2, 200, 200] }, { shape: [2] }, { shape: [2] }],
    fn: (o, x, w, b) => o.batchNormTrain(x, w, b, EPS),
    order: 0,
    atol: 1e-5,
  },
  {
    name: "batchNormTrainBackward with 360000 values per channel (most partials per channel)",
    inputs: [{ shape: [1, 1, 600, 600] }, { shape: [1] }, { shape: [1, 1, 600, 600] }],
    fn: (o, x, w, g) => o.batchNormTrainBackward(x, w, g, EPS),
    order: 0,
    atol: 1e-5,
  },
  {
    name: "batchNormBackwardSums with 360000 values per channel (most partials per channel)",
    inputs: [{ shape: [1, 1, 600, 600] }, { shape: [1, 1, 600, 600] }, { shape: [1, 1, 600, 600] }],
    fn: (o, x, g, h) => o.batchNormBackwardSums(x, g, h, EPS),
    order: 0,
    atol: 1e-3,
  },
];
