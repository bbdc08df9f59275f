/**
 * Attention read from a qkv projection in place (qkvAttention: [B, T, 3, H, D] → [B, T, H, D]),
 * against the stacked layout it replaces (packedAttention on the permuted [3, B·H, T, D] stack):
 * the kernels do the same arithmetic on the same values, so results agree to the bit in every
 * order of derivative, fused and composed alike, including the double backward's fused kernels and
 * ViT-like shapes (T 17 and 197, D 64, several texture layers). Its float64 and finite-difference
 * checks are op-spec rows (test/ops/specs/core.ts).
 */
import * as h from "../../src/mod.ts";
import { attentionBackwardVjp, attentionPacked, packedAttention, qkvAttention } from "../../src/ops/attention.ts";
import { assert, assertThrows, maxRelativeError, test } from "../harness.ts";
import { rng } from "../support/random.ts";

function randomTensor(shape: number[], random: () => number): h.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return h.tensor(Float32Array.from({ length: n }, () => 2 * random() - 1), shape);
}

/** [B, T, 3, H, D] → [3, B·H, T, D]. */
function stacked(qkv: h.Tensor): h.Tensor {
  const [B, T, , H, D] = qkv.shape;
  return h.reshape(h.permute(qkv, [2, 0, 3, 1, 4]), [3, B * H, T, D]);
}

function assertSame(name: string, actual: Float32Array, expected: Float32Array): void {
  assert(actual.length === expected.length, `${name}: ${actual.length} values, expected ${expected.length}`);
  const error = maxRelativeError(actual, expected);
  assert(error === 0, `${name}: relative error ${error.toExponential(2)}, expected identical values`);
}

test("qkvAttention equals packedAttention on the permuted stack, with equal gradients to second order", async () => {
  await h.init();
  for (const implementation of ["fused", "composed"] as const) {
    for (const [B, T, H, D] of [[2, 17, 3, 64], [1, 70, 2, 8]]) {
      const random = rng(B * 100 + T + H);
      const qkv = randomTensor([B, T, 3, H, D], random);
      const r = randomTensor([B, T, H, D], random);
      const layouts = {
        projection: (x: h.Tensor) => qkvAttention(x, { implementation }),
        stack: (x: h.Tensor) => h.permute(h.reshape(packedAttention(stacked(x), { implementation }), [B, H, T, D]), [0, 2, 1, 3]),
      };
      const results: Float32Array[][] = [];
      for (const run of Object.values(layouts)) {
        // L1 = Σ tanh(o)·r, L2 = ‖∂L1/∂qkv‖²: forward, gradient and the harmonizer's second order.
        const loss = (x: h.Tensor) => h.sum(h.mul(h.tanh(run(x)), r));
        const second = (x: h.Tensor) => {
          const g = h.grad((xs: h.Tensor[]) => loss(xs[0]))([x])[0];
          return h.sum(h.mul(g, g));
        };
        const outputs = h.tidy(() => [run(qkv), h.grad((xs: h.Tensor[]) => loss(xs[0]))([qkv])[0], h.grad((xs: h.Tensor[]) => second(xs[0]))([qkv])[0]]);
        results.push(await Promise.all(outputs.map((t) => t.floats())));
        h.dispose(outputs);
      }
      h.dispose([qkv, r]);
      ["o", "∂L1/∂qkv", "∂L2/∂qkv"].forEach((name, i) => assertSame(`${implementation} [${B}, ${T}, 3, ${H}, ${D}] ${name}`, results[0][i], results[1][i]));
    }
  }
});

test("qkvAttention: the fused double backward equals the composed one (T 17 and 197, D 64, 3 heads)", async () => {
  await h.init();
  for (const [B, T, H, D] of [[8, 17, 3, 64], [1, 197, 3, 64]]) {
    const random = rng(B * 1000 + T);
    const scale = 1 / Math.sqrt(D);
    const qkv = randomTensor([B, T, 3, H, D], random);
    const g = randomTensor([B, T, 3, H, D], random);
    const cotangent = randomTensor([B * H * T * (D + 1)], random);
    const results: Float32Array[][] = [];
    for (const implementation of ["fused", "composed"] as const) {
      const outputs = h.tidy(() => attentionBackwardVjp(g, qkv, attentionPacked(qkv, scale), cotangent, scale, implementation));
      assert(outputs[0].shape.join() === qkv.shape.join(), `${implementation}: q̄k̄v̄ shape [${outputs[0].shape}]`);
      results.push(await Promise.all(outputs.map((t) => t.floats())));
      h.dispose(outputs);
    }
    h.dispose([qkv, g, cotangent]);
    ["q̄k̄v̄", "cotangent of (dO, dlse)"].forEach((name, i) => {
      const error = maxRelativeError(results[0][i], results[1][i]);
      assert(error <= 2e-6, `[${B}, ${T}, 3, ${H}, ${D}] ${name}: relative error ${error.toExponential(2)}`);
    });
  }
});

test("qkvAttention: a projection spanning several texture layers matches the stacked layout", async () => {
  const backend = await h.init();
  // More heads × batch than one texture layer holds at this length: rows from several layers.
  const T = 197;
  const perLayer = Math.floor(backend.limits.maxTextureDimension2D / T);
  const H = 2;
  const B = Math.ceil((perLayer + 1) / H);
  const D = 4;
  const qkv = randomTensor([B, T, 3, H, D], rng(9));
  const [a, b] = h.tidy(() => [
    qkvAttention(qkv, { implementation: "fused" }),
    h.permute(h.reshape(packedAttention(stacked(qkv), { implementation: "fused" }), [B, H, T, D]), [0, 2, 1, 3]),
  ]);
  assertSame(`[${B}, ${T}, 3, ${H}, ${D}] o`, await a.floats(), await b.floats());
  h.dispose([qkv, a, b]);
});

test("qkvAttention: a qkv that is not [B, T, 3, H, D] is refused with its shape", async () => {
  await h.init();
  const bad = h.zeros([2, 5, 2, 2, 4]);
  assertThrows(() => qkvAttention(bad), /qkvAttention: qkv must be \[B, T, 3, H, D\] \(qkv \[2, 5, 2, 2, 4\]\)/);
  const odd = h.zeros([1, 5, 3, 2, 6]);
  assertThrows(() => qkvAttention(odd, { implementation: "fused" }), /fused kernel needs/);
  h.dispose([bad, odd]);
});
