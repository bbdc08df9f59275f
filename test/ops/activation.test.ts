/**
 * GELU (exact and tanh approximation): values, first and second derivatives against closed forms
 * in float64, and a float64 finite-difference check of a composite; dropout's seeded mask.
 */
import * as h from "../../src/mod.ts";
import { assert, assertClose, assertEquals, assertThrows, test } from "../harness.ts";
import { erf64 } from "../support/reference.ts";
import { checkGrads } from "../support/check_grads.ts";
import { seededInputs } from "../support/random.ts";
import { geluSecondGradProduct } from "../../src/ops/activation.ts";

const phi = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
const gelu64 = (x: number) => 0.5 * x * (1 + erf64(x / Math.SQRT2));
/** d/dx x·Φ(x) = Φ(x) + x·φ(x);  d²/dx² = φ(x)·(2 − x²). */
const gelu64d1 = (x: number) => 0.5 * (1 + erf64(x / Math.SQRT2)) + x * phi(x);
const gelu64d2 = (x: number) => phi(x) * (2 - x * x);

const A = Math.sqrt(2 / Math.PI);
const C = 0.044715;
const tanh64 = (x: number) => {
  const z = A * (x + C * x ** 3);
  return { t: Math.tanh(z), z1: A * (1 + 3 * C * x * x), z2: A * 6 * C * x };
};
const geluTanh64 = (x: number) => 0.5 * x * (1 + tanh64(x).t);
const geluTanh64d1 = (x: number) => {
  const { t, z1 } = tanh64(x);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * z1;
};
const geluTanh64d2 = (x: number) => {
  const { t, z1, z2 } = tanh64(x);
  const s = 1 - t * t;
  return s * z1 + 0.5 * x * (-2 * t * s * z1 * z1 + s * z2);
};

/** Grid over [−6, 6] with 0 and ±tiny values, float32-representable. */
const POINTS = Float64Array.from(Float32Array.from([
  ...Array.from({ length: 97 }, (_, i) => -6 + i * 0.125), 0, 1e-3, -1e-3, 0.7071, -2.2,
]));

// geluTanh″ goes through tanh's rule 1 − tanh², which loses float32 digits where |tanh| → 1
// (absolute error ~4e-6 near |x| = 4.6, against values up to 0.8), hence its wider atol.
for (const [name, fn, f, d1, d2, secondAtol] of [
  ["gelu", h.gelu, gelu64, gelu64d1, gelu64d2, 2e-6],
  ["geluTanh", h.geluTanh, geluTanh64, geluTanh64d1, geluTanh64d2, 1e-5],
] as const) {
  test(`${name}: value, first and second derivative match closed forms in float64`, async () => {
    await h.init();
    const weights = seededInputs(POINTS.length, 3);
    const [value, first, second] = h.tidy(() => {
      const x = h.tensor(Float32Array.from(POINTS));
      const w = h.tensor(Float32Array.from(weights));
      const loss = (t: h.Tensor) => h.sum(h.mul(fn(t), w));
      // Elementwise: ∇(Σ w·f(x)) = w·f′(x) and ∇(Σ ∇(Σ w·f)) = w·f″(x).
      return [fn(x), h.grad(loss)(x), h.grad((t: h.Tensor) => h.sum(h.grad(loss)(t)))(x)];
    });
    assertClose(await value.floats(), POINTS.map(f), { rtol: 2e-6, atol: 1e-6 }, `${name}(x)`);
    assertClose(await first.floats(), POINTS.map((x, i) => weights[i] * d1(x)), { rtol: 1e-5, atol: 1e-6 }, `${name}′`);
    assertClose(await second.floats(), POINTS.map((x, i) => weights[i] * d2(x)), { rtol: 1e-4, atol: secondAtol }, `${name}″`);
    h.dispose([value, first, second]);
  });
}

test("gelu: a composite (gelu of an affine map) passes float64 first- and second-order checks", async () => {
  const x = seededInputs(12, 11, 2);
  const w = seededInputs(12, 12);
  await checkGrads(([t]) => h.sum(h.mul(h.gelu(h.sub(h.mul(t, 1.5), 0.25)), h.tensor(Float32Array.from(w), [3, 4]))), [{ shape: [3, 4], values: x }], {
    name: "Σ w·gelu(1.5x − 0.25)",
    seed: 13,
    reference: ([t]) => t.reduce((acc, value, i) => acc + w[i] * gelu64(1.5 * value - 0.25), 0),
  });
});

test("geluSecondGradProduct(h, g, x) writes geluGrad(h, x) in the same pass, both bit for bit as the separate kernels", async () => {
  await h.init();
  const shape = [3, 4, 6];
  const [hs, gs, xs] = [21, 22, 23].map((seed) => Float32Array.from(seededInputs(72, seed, 3)));
  const geluKernels = (report: h.ProfileReport) =>
    report.kernels.filter((k) => /^(gelu_pair|binary)\./.test(k.name)).map((k) => `${k.name} ${k.dispatches}`);
  const { result: [product, slope], report } = await h.profile(() =>
    h.tidy(() => {
      const [hT, g, x] = [hs, gs, xs].map((v) => h.tensor(v, shape));
      const product = geluSecondGradProduct(hT, g, x);
      return [product, h.geluGrad(hT, x)];
    })
  );
  assertEquals(geluKernels(report), ["gelu_pair.gelu_second_grad_product_pair 1"], "one pass for both");
  const [productAlone, slopeAlone] = h.tidy(() => {
    const [hT, g, x] = [hs, gs, xs].map((v) => h.tensor(v, shape));
    return [h.geluSecondGrad(h.mul(hT, g), x), h.geluGrad(hT, x)];
  });
  assertEquals([...await product.floats()], [...await productAlone.floats()], "h·g·gelu″(x)");
  assertEquals([...await slope.floats()], [...await slopeAlone.floats()], "h·gelu′(x)");
  h.dispose([product, slope, productAlone, slopeAlone]);
});

test("dropout: identity in eval and at rate 0; seeded, inverted mask in training", async () => {
  await h.init();
  const x = h.add(h.randomUniform([40, 50], { seed: 1 }), 1);
  assert(h.dropout(x, { rate: 0.3, seed: 5, training: false }) === x, "eval mode must return its input");
  assert(h.dropout(x, { rate: 0, seed: 5, training: true }) === x, "rate 0 must return its input");
  const [a, b, c] = [5, 5, 6].map((seed) => h.dropout(x, { rate: 0.3, seed, training: true }));
  const [xs, as, bs, cs] = await Promise.all([x, a, b, c].map((t) => t.floats()));
  assertEquals(Array.from(as), Array.from(bs), "same seed, same mask");
  let kept = 0;
  let differs = false;
  as.forEach((value, i) => {
    if (value !== 0) {
      kept++;
      assertClose([value], [xs[i] / 0.7], { rtol: 1e-6, atol: 0 }, "kept values are scaled by 1/(1 − rate)");
    }
    differs ||= (value === 0) !== (cs[i] === 0);
  });
  assert(Math.abs(kept / as.length - 0.7) < 0.03, `kept fraction ${kept / as.length}, expected ≈ 0.7`);
  assert(differs, "another seed must give another mask");
  const g = h.grad((t: h.Tensor) => h.sum(h.dropout(t, { rate: 0.3, seed: 5, training: true })))(x);
  assertClose(await g.floats(), as.map((value) => (value === 0 ? 0 : 1 / 0.7)), { rtol: 1e-6, atol: 0 }, "∂/∂x is the scaled mask");
  const zeros = h.dropout(x, { rate: 1, seed: 5, training: true });
  assertEquals(Array.from(await zeros.floats()).every((value) => value === 0), true, "rate 1 drops everything");
  assertThrows(() => h.dropout(x, { rate: 1.5, seed: 5, training: true }), /rate must lie in \[0, 1\]/);
  h.dispose([x, a, b, c, g, zeros]);
});
