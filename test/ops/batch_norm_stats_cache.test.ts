/**
 * Batch-norm statistics are computed once per tensor: every fused kernel that reads x after the
 * first reuses the [2, C] statistics kept beside x's storage, and they are freed with x (the
 * backward's sums of a cotangent g, kept beside g, likewise).
 */
import * as h from "../../src/mod.ts";
import * as bn from "../../src/ops/batch_norm_primitives.ts";
import { profile } from "../../src/profile.ts";
import { assert, assertClose, assertEquals, test } from "../harness.ts";
import { seededValues } from "../support/random.ts";

const SHAPE = [2, 3, 4, 4];
const EPS = 1e-5;
const values = seededValues(2 * 3 * 4 * 4, 7).map((v) => 3 * v + 1);

/** Per-channel mean then biased variance of `data` viewed as [N, C, plane], in float64. */
function channelStats(data: ArrayLike<number>, [n, c, ...rest]: number[]): number[] {
  const plane = rest.reduce((a, b) => a * b, 1);
  const mean: number[] = [], variance: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    const items: number[] = [];
    for (let b = 0; b < n; b++) for (let p = 0; p < plane; p++) items.push(data[(b * c + ch) * plane + p]);
    const mu = items.reduce((a, v) => a + v, 0) / items.length;
    mean.push(mu);
    variance.push(items.reduce((a, v) => a + (v - mu) ** 2, 0) / items.length);
  }
  return [...mean, ...variance];
}

/** Every fused batch-norm primitive of a forward, backward and double backward reading one x. */
function everyReader(x: h.Tensor, g: h.Tensor, hh: h.Tensor): h.Tensor[] {
  const w = h.tensor([1.5, -0.5, 2]);
  const b = h.tensor([0.1, 0.2, -0.3]);
  return [
    bn.batchNormStats(x),
    bn.batchNormTrain(x, w, b, EPS),
    h.batchNorm(x, { weight: w, bias: b, training: true, relu: true }).output,
    bn.batchNormTrainBackward(x, w, g, EPS),
    bn.batchNormAffineGrad(x, g, EPS),
    bn.batchNormBackwardSums(x, g, hh, EPS),
    bn.batchNormMix(x, h.ones([4, 3]), [g, hh], EPS),
  ];
}

test("batch-norm statistics run once per tensor however many kernels read it, with unchanged results", async () => {
  await h.init();
  const g = h.tensor(seededValues(values.length, 8), SHAPE);
  const hh = h.tensor(seededValues(values.length, 9), SHAPE);
  const x = h.tensor(values, SHAPE);
  const { result: cached, report } = await profile(() => h.tidy(() => everyReader(x, g, hh)));
  // dispatches of an entry point and its vec4 variant (4×4 planes take grad_partial_vec4)
  const runs = (entry: string) =>
    report.kernels.filter((k) => k.name === `batch_norm.${entry}` || k.name === `batch_norm.${entry}_vec4`).reduce((n, k) => n + k.dispatches, 0);
  assertEquals(runs("stats_partial"), 1, "stats_partial dispatches");
  // the backward's two halves share the sums of (x, g) the same way
  assertEquals(runs("grad_partial"), 1, "grad_partial dispatches");
  assertClose(await cached[0].data(), channelStats(values, SHAPE), { rtol: 1e-5, atol: 1e-6 }, "statistics");
  // Each reader on a fresh copy of x (its own statistics) gives the same values, bit for bit.
  const fresh = h.tidy(() => everyReader(h.tensor(values, SHAPE), g, hh));
  for (let i = 0; i < cached.length; i++) assertClose(await cached[i].data(), await fresh[i].data(), { rtol: 0, atol: 0 }, `reader ${i}`);
  h.dispose([cached, fresh, x, g, hh]);
});

test("a view of x read as another shape gets its own statistics", async () => {
  await h.init();
  const x = h.tensor(values, SHAPE);
  const [asIs, regrouped] = h.tidy(() => [bn.batchNormStats(x), bn.batchNormStats(h.reshape(x, [2, 6, 8]))]);
  assertClose(await asIs.data(), channelStats(values, SHAPE), { rtol: 1e-5, atol: 1e-6 }, "as [2, 3, 4, 4]");
  assertClose(await regrouped.data(), channelStats(values, [2, 6, 8]), { rtol: 1e-5, atol: 1e-6 }, "as [2, 6, 8]");
  h.dispose([asIs, regrouped, x]);
});

test("the statistics kept with x are freed with x; a statistics tensor handed out outlives it", async () => {
  const backend = await h.init();
  await backend.sync();
  const baseline = h.memory();
  const x = h.tensor(values, SHAPE);
  const withX = h.memory().liveBuffers;
  const stats = h.tidy(() => {
    bn.batchNormTrain(x, h.ones([3]), h.zeros([3]), EPS);
    return bn.batchNormStats(x);
  });
  // x, the statistics kept beside it, and the result (a view of them: no buffer of its own)
  assertEquals(h.memory().liveBuffers - withX, 1, "buffers beyond x after the tidy");
  x.dispose();
  assert(h.memory().liveBuffers > baseline.liveBuffers, "the handed-out statistics hold their buffer");
  assertClose(await stats.data(), channelStats(values, SHAPE), { rtol: 1e-5, atol: 1e-6 }, "statistics after x is gone");
  stats.dispose();
  assertEquals(h.memory().liveBytes, baseline.liveBytes, "live bytes back to the baseline");
  assertEquals(h.memory().liveBuffers, baseline.liveBuffers, "live buffers back to the baseline");
});
