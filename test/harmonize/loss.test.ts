/**
 * The harmonization term against PyTorch float64 (test/golden/harmonizer_loss_golden.py), on odd
 * (15×22) and even maps, and proof that each subtlety of docs/harmonization.md §1 is load-bearing: dropping any one of
 * them moves the value or the gradient outside the tolerance.
 */
import * as h from "../../src/mod.ts";
import { harmonizationTerm, smoothedCrossEntropy, weightL2 } from "../../src/harmonize/loss.ts";
import { clipGradNorm } from "../../src/harmonize/clip.ts";
import { seededValues } from "../support/random.ts";
import { pyramidalMse } from "../../src/harmonize/pyramid.ts";
import { standardizeCut } from "../../src/harmonize/standardize.ts";
import { assert, assertClose, maxRelativeError, readRepoFile, test } from "../harness.ts";

interface LossCase {
  shape: [number, number, number];
  saliency: number[];
  heatmaps: number[];
  tokens: number[];
  loss: number;
  grad: number[];
}

async function fixture(): Promise<Record<string, LossCase>> {
  return JSON.parse(new TextDecoder().decode(await readRepoFile("test/fixtures/harmonizer_loss.json")));
}

type Term = (s: h.Tensor, hm: h.Tensor, t: h.Tensor) => h.Tensor;

async function evaluate(c: LossCase, term: Term): Promise<{ loss: number; grad: Float32Array }> {
  const s = h.tensor(c.saliency, c.shape);
  const hm = h.tensor(c.heatmaps, c.shape);
  const t = h.tensor(c.tokens, [c.shape[0]]);
  const [value, grad] = h.valueAndGrad((x: h.Tensor) => term(x, hm, t))(s);
  const result = { loss: await value.item(), grad: (await grad.data()) as Float32Array };
  h.dispose([s, hm, t, value, grad]);
  return result;
}

for (const name of ["odd_15x22_tokens_101", "even_32x32_tokens_11"]) {
  test(`harmonization term and its gradient match PyTorch float64 (${name})`, async () => {
    await h.init();
    const c = (await fixture())[name];
    const { loss, grad } = await evaluate(c, harmonizationTerm);
    assert(Math.abs(loss - c.loss) <= 1e-4 * Math.abs(c.loss), `loss ${loss} vs ${c.loss}`);
    const error = maxRelativeError(grad, c.grad);
    assert(error < 1e-3, `gradient relative error ${error}`);
  });
}

// Each variant drops one subtlety of the specification; the golden comparison must catch every one.
const biasedStd = (m: h.Tensor) => {
  const n = m.shape[1] * m.shape[2];
  const centred = h.sub(m, h.mean(m, [1, 2], true));
  const sigma = h.sqrt(h.div(h.sum(h.square(centred), [1, 2], true), n - 1));
  return h.relu(h.div(centred, h.add(sigma, 1e-5)));
};
function rescaled(s: h.Tensor, hm: h.Tensor, stop: boolean): h.Tensor {
  const [n] = hm.shape;
  const hMax = h.reshape(h.max(hm, [1, 2]), [n, 1, 1]);
  const sMax = h.reshape(stop ? h.stopGradient(h.max(s, [1, 2])) : h.max(s, [1, 2]), [n, 1, 1]);
  return h.mul(h.div(hm, h.add(hMax, 1e-6)), h.add(sMax, 1e-6));
}
function symmetricPadDown(x: h.Tensor): h.Tensor {
  const taps = [1, 4, 6, 4, 1].map((v) => v / 16);
  const pass = (t: h.Tensor, axis: number) =>
    h.correlate1d(t, { axis, taps, stride: 2, padBefore: 2, inSize: t.shape[axis], outSize: Math.ceil(t.shape[axis] / 2) });
  return pass(pass(x, 2), 1);
}
const VARIANTS: Record<string, Term> = {
  "unbiased (N−1) standard deviation": (s, hm, t) => {
    const a = biasedStd(s);
    return pyramidalMse(a, rescaled(a, biasedStd(hm), true), t);
  },
  "gradient through the saliency maximum": (s, hm, t) => {
    const a = standardizeCut(s);
    return pyramidalMse(a, rescaled(a, standardizeCut(hm), false), t);
  },
  "symmetric padding (2 before, 2 after)": (s, hm, t) => {
    const a = standardizeCut(s);
    const b = rescaled(a, standardizeCut(hm), true);
    let pa = a;
    let pb = b;
    let total = h.mean(h.mul(h.reshape(t, [-1, 1, 1]), h.square(h.sub(pa, pb))));
    for (let i = 1; i < 5; i++) {
      pa = symmetricPadDown(pa);
      pb = symmetricPadDown(pb);
      total = h.add(total, h.mean(h.mul(h.reshape(t, [-1, 1, 1]), h.square(h.sub(pa, pb)))));
    }
    return h.div(total, 5);
  },
  "four pyramid levels": (s, hm, t) => {
    const a = standardizeCut(s);
    return pyramidalMse(a, rescaled(a, standardizeCut(hm), true), t, 4);
  },
  "tokens ignored": (s, hm, t) => harmonizationTerm(s, hm, h.onesLike(t)),
  "mean over labelled rows only": (s, hm, t) => h.mul(harmonizationTerm(s, hm, t), t.shape[0] / 2),
  "no ReLU cut": (s, hm, t) => {
    const z = (m: h.Tensor) => h.div(h.sub(m, h.mean(m, [1, 2], true)), h.add(h.sqrt(h.variance(m, [1, 2], true)), 1e-5));
    const a = z(s);
    return pyramidalMse(a, rescaled(a, z(hm), true), t);
  },
};

for (const [subtlety, term] of Object.entries(VARIANTS)) {
  test(`dropping a subtlety of the specification is caught by the golden test: ${subtlety}`, async () => {
    await h.init();
    const c = (await fixture())["odd_15x22_tokens_101"];
    const { loss, grad } = await evaluate(c, term);
    const lossOff = Math.abs(loss - c.loss) > 1e-4 * Math.abs(c.loss);
    const gradOff = maxRelativeError(grad, c.grad) >= 1e-3;
    assert(lossOff || gradOff, `the variant reproduced the golden loss ${c.loss} and gradient`);
  });
}

test("label-smoothed cross-entropy from logits matches the closed form", async () => {
  await h.init();
  const logits = [2, -1, 0.5, 0, 3, -2];
  const labels = [0, 1];
  const k = 3;
  let expected = 0;
  for (let n = 0; n < 2; n++) {
    const row = logits.slice(n * k, n * k + k);
    const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
    for (let j = 0; j < k; j++) expected -= ((j === labels[n] ? 0.9 : 0) + 0.1 / k) * (row[j] - lse);
  }
  expected /= 2;
  const out = smoothedCrossEntropy(h.tensor(logits, [2, 3]), h.oneHot(h.tensor(Int32Array.from(labels)), k));
  assertClose([await out.item()], [expected], { rtol: 1e-6 });
});

test("weightL2 and clipGradNorm's norm: ½Σ‖θ‖² and √Σ‖g‖² in float64, and the weight term's gradient is θ", async () => {
  await h.init();
  // A conv-sized weight (split across threads), a short one (one thread), a bias.
  const shapes = [[64, 32, 3, 3], [10, 7], [5]];
  const values = shapes.map((shape, i) => seededValues(shape.reduce((a, b) => a * b, 1), 40 + i));
  const expected = values.reduce((total, v) => total + v.reduce((s, x) => s + x * x, 0), 0);
  const tensors = values.map((v, i) => h.tensor(v, shapes[i]));
  const [l2, grads] = h.tidy(() => h.valueAndGrad((ps: h.Tensor[]) => weightL2(ps))(tensors));
  assertClose([await l2.item()], [expected / 2], { rtol: 1e-6 }, "weightL2");
  for (const [i, g] of grads.entries()) assertClose(await g.floats(), values[i], { rtol: 0, atol: 0 }, `∂weightL2/∂θ ${i}`);
  const named = Object.fromEntries(tensors.map((t, i) => [`p${i}`, t]));
  const { grads: clipped, norm } = clipGradNorm(named, 1);
  assertClose([await norm.item()], [Math.sqrt(expected)], { rtol: 1e-6 }, "clipGradNorm norm");
  h.dispose([l2, grads, tensors, Object.values(clipped), norm]);
});
