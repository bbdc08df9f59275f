/**
 * The fused double backward of attention (primitive attentionDoubleBackward,
 * shaders/attention_double_backward.wgsl) against the composed attentionBackwardVjp it replaces:
 * equal at float32 rounding on ViT-like shapes (ViT-Ti at 64²: T 17; ViT-B/16 at 224²: T 197,
 * several key tiles), and the kernel policy's switch between the two. Its float64 and
 * finite-difference checks are op-spec rows (test/ops/specs/core.ts); the third order through its
 * rule is in test/ops/attention.test.ts.
 */
import * as h from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import { attentionBackwardVjp, attentionPacked } from "../../src/ops/attention.ts";
import { assert, maxRelativeError, test } from "../harness.ts";
import { rng } from "../support/random.ts";

function randomTensor(shape: number[], random: () => number): h.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return h.tensor(Float32Array.from({ length: n }, () => 2 * random() - 1), shape);
}

// The last 16-row block holds 1 (T 17), 2 (197, 70) or 3 (11, 43) 4-row groups below T (the rest are skipped).
test("attentionDoubleBackward equals the composed attentionBackwardVjp (T 17 and 197, D 64; T 70, D 8; T 11, D 16; T 43, D 32)", async () => {
  await h.init();
  for (const [batch, T, D] of [[24, 17, 64], [3, 197, 64], [2, 70, 8], [4, 11, 16], [2, 43, 32]]) {
    const random = rng(batch * 1000 + T);
    const scale = 1 / Math.sqrt(D);
    const qkv = randomTensor([3, batch, T, D], random);
    const g = randomTensor([3, batch, T, D], random);
    const cotangent = randomTensor([batch * T * (D + 1)], random);
    const results: Float32Array[][] = [];
    for (const implementation of ["fused", "composed"] as const) {
      const outputs = h.tidy(() => attentionBackwardVjp(g, qkv, attentionPacked(qkv, scale), cotangent, scale, implementation));
      results.push(await Promise.all(outputs.map((t) => t.floats())));
      h.dispose(outputs);
    }
    h.dispose([qkv, g, cotangent]);
    const [fused, composed] = results;
    ["q̄k̄v̄", "cotangent of (dO, dlse)"].forEach((name, i) => {
      const error = maxRelativeError(fused[i], composed[i]);
      assert(error <= 2e-6, `[${batch}, ${T}, ${D}] ${name}: relative error ${error.toExponential(2)}`);
    });
  }
});

test("attentionDoubleBackward: the kernel policy picks it or the composition, with equal second-order gradients", async () => {
  const backend = await h.init();
  const shape = [2, 3, 17, 16];
  const random = rng(5);
  const [q, k, v, r] = [0, 1, 2, 3].map(() => randomTensor(shape, random));
  // L2 = Σ ‖∂L1/∂(q, k, v)‖²: the harmonizer's pattern of a loss on an input gradient.
  const loss = (xs: h.Tensor[]) => h.sum(h.mul(h.tanh(h.attention(xs[0], xs[1], xs[2])), r));
  const second = (xs: h.Tensor[]) => h.grad(loss)(xs).map((g) => h.sum(h.mul(g, g))).reduce((a, b) => h.add(a, b));
  const previous = backend.kernels.variants.attentionDoubleBackward;
  const results: Float32Array[][] = [];
  try {
    for (const variant of ["fused", "composed"] as const) {
      backend.setKernelVariant("attentionDoubleBackward", variant);
      const seen = new Set<string>();
      engine.recorders.push({ maybeRecord: (node) => seen.add(node.primitive) });
      let grads: h.Tensor[];
      try {
        grads = h.tidy(() => h.grad(second)([q, k, v]));
      } finally {
        engine.recorders.pop();
      }
      assert(seen.has("attentionDoubleBackward") === (variant === "fused"), `${variant}: attentionDoubleBackward ran: ${seen.has("attentionDoubleBackward")}`);
      results.push(await Promise.all(grads.map((g) => g.floats())));
      h.dispose(grads);
    }
  } finally {
    backend.setKernelVariant("attentionDoubleBackward", previous);
  }
  results[0].forEach((fused, i) => {
    const error = maxRelativeError(fused, results[1][i]);
    assert(error <= 1e-5, `∂L2/∂${"qkv"[i]}: fused vs composed relative error ${error.toExponential(2)}`);
  });
  h.dispose([q, k, v, r]);
});
