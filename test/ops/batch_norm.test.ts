import { batchNorm, grad, init, mul, sum, tanh, tensor, type Tensor, tidy } from "../../src/mod.ts";
import { assert, assertThrows, maxRelativeError, test } from "../harness.ts";
import { refBatchNorm } from "../support/reference_conv.ts";
import { checkGrads } from "../support/check_grads.ts";
import { seededValues } from "../support/random.ts";
import { type GoldenTensor, loadGolden } from "./golden.ts";

await init();

function check(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  const error = maxRelativeError(actual, expected);
  assert(error <= tolerance, `${name}: relative error ${error.toExponential(2)} > ${tolerance}`);
}

const SHAPE = [3, 2, 4, 5];
const xs = seededValues(3 * 2 * 4 * 5, 1).map((v) => 2 * v + 0.5);
const gamma = [1.5, 0.75];
const beta = [0.25, -0.5];

/** Per-channel statistics over N, H, W in float64. */
function channelStats(values: Float32Array, [n, c, h, w]: number[]) {
  const mean: number[] = [], unbiased: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    const items: number[] = [];
    for (let b = 0; b < n; b++) items.push(...values.slice((b * c + ch) * h * w, (b * c + ch + 1) * h * w));
    const mu = items.reduce((a, v) => a + v, 0) / items.length;
    mean.push(mu);
    unbiased.push(items.reduce((a, v) => a + (v - mu) ** 2, 0) / (items.length - 1));
  }
  return { mean, unbiased };
}

test("batchNorm in training mode normalises with batch statistics and returns mean and unbiased variance", async () => {
  const { output, batchMean, batchVarianceUnbiased } = tidy(() =>
    batchNorm(tensor(xs, SHAPE), { weight: tensor(gamma), bias: tensor(beta), eps: 1e-5, training: true })
  );
  check("output", await output.floats(), refBatchNorm(xs, SHAPE, gamma, beta, 1e-5));
  const stats = channelStats(xs, SHAPE);
  check("batch mean", await batchMean!.floats(), stats.mean);
  check("unbiased variance", await batchVarianceUnbiased!.floats(), stats.unbiased);
  for (const t of [output, batchMean!, batchVarianceUnbiased!]) t.dispose();
});

for (const implementation of ["fused", "composed"] as const) test(`batchNorm in evaluation mode uses the running statistics (${implementation})`, async () => {
  const runningMean = [0.1, -0.2];
  const runningVar = [2, 0.5];
  const { output, batchMean } = tidy(() =>
    batchNorm(tensor(xs, SHAPE), {
      weight: tensor(gamma), bias: tensor(beta), eps: 1e-3, training: false, implementation,
      runningMean: tensor(runningMean), runningVar: tensor(runningVar),
    })
  );
  assert(batchMean === undefined, "evaluation mode returns no batch statistics");
  const plane = SHAPE[2] * SHAPE[3];
  const expected = Array.from(xs, (v, i) => {
    const ch = Math.floor(i / plane) % 2;
    return (v - runningMean[ch]) / Math.sqrt(runningVar[ch] + 1e-3) * gamma[ch] + beta[ch];
  });
  check("output", await output.floats(), expected);
  output.dispose();
});

test("batchNorm training-mode second-order derivatives (cross-sample terms) match finite differences", async () => {
  const weight = tensor(gamma);
  const bias = tensor(beta);
  const r = tensor(seededValues(xs.length, 2), SHAPE);
  await checkGrads(([x]) => sum(mul(tanh(batchNorm(x, { weight, bias, training: true }).output), r)), [{ shape: SHAPE, values: xs }], {
    seed: 3,
  });
  for (const t of [weight, bias, r]) t.dispose();
});

test("batchNorm errors name the shapes", () => {
  tidy(() => {
    const x = tensor(xs, SHAPE);
    assertThrows(() => batchNorm(x, { training: false }), /batchNorm: evaluation mode needs runningMean and runningVar \(input \[3, 2, 4, 5\]\)/);
    assertThrows(() => batchNorm(x, { training: true, weight: tensor([1, 2, 3]) }), /batchNorm: weight must be \[2\] for input \[3, 2, 4, 5\], got \[3\]/);
    assertThrows(() => batchNorm(tensor([1, 2], [1, 2]), { training: true }), /more than one value per channel/);
  });
});

interface BatchNormGolden {
  x: GoldenTensor;
  weight: number[];
  bias: number[];
  eps: number;
  r: number[];
  y: GoldenTensor;
  batchMean: number[];
  batchVarianceUnbiased: number[];
  dL1_dx: number[];
  dL1_dw: number[];
  dL1_db: number[];
  dL2_dx: number[];
  dL2_dw: number[];
  dL2_db: number[];
}

const golden = await loadGolden<BatchNormGolden>("batch_norm_golden.json");
for (const implementation of ["fused", "composed"] as const) golden.cases.forEach((g, i) => {
  test(`batchNorm golden ${i} vs PyTorch float64 (training, ${implementation}): x [${g.x.shape}] eps ${g.eps}`, async () => {
    const results = tidy(() => {
      const params = [tensor(g.x.data, g.x.shape), tensor(g.weight), tensor(g.bias)];
      const r = tensor(g.r, g.y.shape);
      const forward = ([x, weight, bias]: Tensor[]) => batchNorm(x, { weight, bias, eps: g.eps, training: true, implementation });
      const l1 = (ps: Tensor[]) => sum(mul(tanh(forward(ps).output), r));
      const l2 = (ps: Tensor[]) => {
        const [gx] = grad(l1)(ps);
        return sum(mul(gx, gx));
      };
      const { output, batchMean, batchVarianceUnbiased } = forward(params);
      return { output, batchMean: batchMean!, batchVarianceUnbiased: batchVarianceUnbiased!, first: grad(l1)(params), second: grad(l2)(params) };
    });
    const expected: [string, Tensor, number[]][] = [
      ["y", results.output, g.y.data],
      ["batch mean", results.batchMean, g.batchMean],
      ["unbiased variance", results.batchVarianceUnbiased, g.batchVarianceUnbiased],
      ["∂L1/∂x", results.first[0], g.dL1_dx],
      ["∂L1/∂γ", results.first[1], g.dL1_dw],
      ["∂L1/∂β", results.first[2], g.dL1_db],
      ["∂L2/∂x", results.second[0], g.dL2_dx],
      ["∂L2/∂γ", results.second[1], g.dL2_dw],
      ["∂L2/∂β", results.second[2], g.dL2_db],
    ];
    for (const [name, t, data] of expected) check(name, await t.floats(), data, 1e-4);
    for (const [, t] of expected) t.dispose();
  });
});
