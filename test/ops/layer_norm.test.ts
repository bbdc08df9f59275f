/**
 * Layer normalisation (fused kernels and composed path) and linear layers: values against float64
 * references written here, and first- and second-order checks against float64 finite differences
 * (test/support/check_grads.ts).
 */
import * as h from "../../src/mod.ts";
import { Params } from "../../src/backend/params.ts";
import { layerNormalizeBackward, layerNormalizeDoubleBackward } from "../../src/ops/layer_norm.ts";
import { assertClose, assertEquals, assertThrows, test } from "../harness.ts";
import { checkGrads } from "../support/check_grads.ts";
import { seededInputs } from "../support/random.ts";

/** Population-variance layer norm of the last `size` elements of each row, with optional affine. */
function layerNorm64(x: Float64Array, size: number, eps: number, weight?: Float64Array, bias?: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let row = 0; row < x.length / size; row++) {
    const values = x.subarray(row * size, (row + 1) * size);
    const mean = values.reduce((a, b) => a + b, 0) / size;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / size;
    values.forEach((value, i) => {
      out[row * size + i] = (value - mean) / Math.sqrt(variance + eps) * (weight?.[i] ?? 1) + (bias?.[i] ?? 0);
    });
  }
  return out;
}

const weighted = (y: Float64Array, w: Float64Array) => y.reduce((acc, value, i) => acc + value * w[i], 0);

for (const implementation of ["fused", "composed"] as const) {
  test(`layerNorm (${implementation}): values match float64 (last axis with affine, eps 1e-6; two axes, default eps)`, async () => {
    await h.init();
    const x = seededInputs(2 * 3 * 7, 1, 3);
    const weight = seededInputs(7, 2);
    const bias = seededInputs(7, 3);
    const [affine, plain] = h.tidy(() => {
      const xT = h.tensor(Float32Array.from(x), [2, 3, 7]);
      const [w, b] = [weight, bias].map((v) => h.tensor(Float32Array.from(v)));
      return [h.layerNorm(xT, [7], { weight: w, bias: b, eps: 1e-6, implementation }), h.layerNorm(xT, 2, { implementation })];
    });
    assertClose(await affine.floats(), layerNorm64(x, 7, 1e-6, weight, bias), { rtol: 1e-5, atol: 2e-6 }, "affine");
    assertClose(await plain.floats(), layerNorm64(x, 21, 1e-5), { rtol: 1e-5, atol: 2e-6 }, "two trailing axes");
    h.dispose([affine, plain]);
  });

  // 5 values per row: the fused kernels' scalar entries; 8: their vec4 entries.
  for (const size of [5, 8]) test(`layerNorm (${implementation}): gradients w.r.t. x, weight and bias match float64 to first and second order (rows of ${size})`, async () => {
    const rows = 3;
    const w = seededInputs(rows * size, 20);
    const wT = () => h.tensor(Float32Array.from(w), [rows, size]);
    const inputs = [
      { shape: [rows, size], values: seededInputs(rows * size, 21, 2) },
      { shape: [size], values: seededInputs(size, 22) },
      { shape: [size], values: seededInputs(size, 23) },
    ];
    const loss = ([x, weight, bias]: h.Tensor[]) => h.sum(h.mul(h.layerNorm(x, [size], { weight, bias, eps: 1e-6, implementation }), wT()));
    await checkGrads(loss, inputs, {
      name: `Σ w·layerNorm(x; weight, bias), ${implementation}`,
      seed: 24,
      reference: ([x, weight, bias]) => weighted(layerNorm64(x, size, 1e-6, weight, bias), w),
    });
  });

  test(`layerNorm (${implementation}): a nonlinear loss of the output passes float64 second-order checks`, async () => {
    const [rows, size] = [2, 6];
    const cubed = ([x]: h.Tensor[]) => {
      const y = h.layerNorm(x, 1, { implementation });
      return h.sum(h.mul(h.mul(y, y), y));
    };
    await checkGrads(cubed, [{ shape: [rows, size], values: seededInputs(rows * size, 30, 2) }], {
      name: `Σ layerNorm(x)³, ${implementation}`,
      seed: 31,
      reference: ([x]) => layerNorm64(x, size, 1e-5).reduce((acc, value) => acc + value ** 3, 0),
    });
  });
}

test("layerNormalizeDoubleBackward(x, g, h) writes layerNormalizeBackward(x, h) in the same pass, as the backward kernel computes it", async () => {
  await h.init();
  const shape = [3, 5, 70];
  const [xs, gs, hs] = [1, 2, 3].map((seed) => Float32Array.from(seededInputs(3 * 5 * 70, seed)));
  const layerNormKernels = (report: h.ProfileReport) => report.kernels.filter((k) => k.name.startsWith("layer_norm.")).map((k) => `${k.name} ${k.dispatches}`);
  const { result: [paired, double], report } = await h.profile(() =>
    h.tidy(() => {
      const [x, g, hT] = [xs, gs, hs].map((v) => h.tensor(v, shape));
      const double = layerNormalizeDoubleBackward(x, g, hT, 1e-6);
      return [layerNormalizeBackward(x, hT, 1e-6), double];
    })
  );
  assertEquals(layerNormKernels(report), ["layer_norm.layer_norm_double_backward_pair 1"], "one pass for both");
  const [alone, doubleAgain] = h.tidy(() => {
    const [x, g, hT] = [xs, gs, hs].map((v) => h.tensor(v, shape));
    return [layerNormalizeBackward(x, hT, 1e-6), layerNormalizeDoubleBackward(h.tensor(xs, shape), g, hT, 1e-6)];
  });
  assertClose(await paired.floats(), await alone.floats(), { rtol: 1e-6, atol: 1e-6 }, "ψ″·h as layer_norm_backward gives it");
  assertEquals([...await double.floats()], [...await doubleAgain.floats()], "the double backward itself unchanged");
  h.dispose([paired, double, alone, doubleAgain]);
});

test("layer norm's vec4 kernels (rows of a multiple of 4 values) give their scalar kernels' results bit for bit", async () => {
  const backend = await h.init();
  const [rows, n, eps] = [37, 192, 1e-6];
  const [xs, gs, hs] = [4, 5, 6].map((seed) => Float32Array.from(seededInputs(rows * n, seed, 2)));
  const kernels: [string, number, number][] = [
    ["layer_norm", 0, 1], ["layer_norm_backward", 1, 1], ["layer_norm_double_backward", 2, 1], ["layer_norm_double_backward_pair", 2, 2],
  ];
  for (const [entry, inputs, outputs] of kernels) {
    const results: Float32Array[][] = [];
    for (const suffix of ["", "_vec4"]) {
      const [x, ...rest] = [xs, gs, hs].slice(0, 1 + inputs).map((v) => h.tensor(v, [rows, n]));
      const outs = Array.from({ length: outputs }, () => h.zeros([rows, n]));
      backend.dispatch({
        shader: "layer_norm",
        entry: entry + suffix,
        params: new Params().u32(rows).u32(n).f32(eps).build(),
        buffers: [x, ...rest, ...outs].map((t) => t.buffer),
        workgroups: [Math.ceil(rows / 32)],
      });
      results.push(await Promise.all(outs.map((t) => t.floats())));
      h.dispose([x, ...rest, ...outs]);
    }
    results[0].forEach((scalar, i) => assertEquals([...results[1][i]], [...scalar], `${entry} output ${i}`));
  }
});

test("layerNorm: shapes that do not fit fail with a clear message", async () => {
  await h.init();
  const x = h.zeros([2, 3, 4]);
  assertThrows(() => h.layerNorm(x, [3]), /normalized shape \[3\] is not a trailing part of x \[2, 3, 4\]/);
  assertThrows(() => h.layerNorm(x, [4], { weight: h.zeros([3]) }), /weight \[3\] must have the normalized shape \[4\]/);
  x.dispose();
});

test("linear: matches float64 over leading axes, to first and second order", async () => {
  const [batch, tokens, inFeatures, outFeatures] = [2, 3, 5, 4];
  const w = seededInputs(batch * tokens * outFeatures, 40);
  const reference = ([x, weight, bias]: Float64Array[]) => {
    let total = 0;
    for (let r = 0; r < batch * tokens; r++) {
      for (let o = 0; o < outFeatures; o++) {
        let y = bias[o];
        for (let i = 0; i < inFeatures; i++) y += x[r * inFeatures + i] * weight[o * inFeatures + i];
        total += Math.tanh(y) * w[r * outFeatures + o];
      }
    }
    return total;
  };
  const inputs = [
    { shape: [batch, tokens, inFeatures], values: seededInputs(batch * tokens * inFeatures, 41) },
    { shape: [outFeatures, inFeatures], values: seededInputs(outFeatures * inFeatures, 42) },
    { shape: [outFeatures], values: seededInputs(outFeatures, 43) },
  ];
  const loss = ([x, weight, bias]: h.Tensor[]) => {
    const y = h.linear(x, weight, bias);
    return h.sum(h.mul(h.tanh(y), h.tensor(Float32Array.from(w), [batch, tokens, outFeatures])));
  };
  await checkGrads(loss, inputs, { name: "Σ w·tanh(linear(x))", seed: 44, reference });
  await h.init();
  const x = h.zeros([2, 5]);
  assertThrows(() => h.linear(x, h.zeros([4, 3])), /needs weight \[out, 5\], got \[4, 3\]/);
  assertThrows(() => h.linear(x, h.zeros([4, 5]), h.zeros([3])), /bias \[3\] must be \[4\]/);
  const y = h.linear(x, h.zeros([4, 5]));
  assertClose([...y.shape], [2, 4], { rtol: 0, atol: 0 }, "no bias");
  h.dispose([x, y]);
});
