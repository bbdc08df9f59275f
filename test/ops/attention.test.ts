/**
 * Scaled dot-product attention, fused kernel and composed path: forward, first- and second-order
 * gradients against a float64 reference written here (and finite differences of it), against each
 * other, and against PyTorch float64 (test/golden/attention_golden.py). Odd lengths (1, 13, 197)
 * and head dims 4, 16, 64.
 */
import * as h from "../../src/mod.ts";
import { assert, assertClose, assertThrows, maxRelativeError, test } from "../harness.ts";
import { loadGolden } from "./golden.ts";
import { rng } from "../support/random.ts";

type Shape4 = [number, number, number, number];
type Implementation = "fused" | "composed";
const IMPLEMENTATIONS: Implementation[] = ["fused", "composed"];

// ------------------------------------------------------------------------------ float64 reference

/** o = softmax(scale·q·kᵀ)·v per (batch, head), and the probabilities P. */
function forward64(q: Float64Array, k: Float64Array, v: Float64Array, [B, H, T, D]: Shape4, scale: number) {
  const o = new Float64Array(q.length);
  const p = new Float64Array(B * H * T * T);
  for (let b = 0; b < B * H; b++) {
    const base = b * T * D;
    for (let i = 0; i < T; i++) {
      const row = p.subarray((b * T + i) * T, (b * T + i + 1) * T);
      let peak = -Infinity;
      for (let j = 0; j < T; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += q[base + i * D + d] * k[base + j * D + d];
        row[j] = s * scale;
        peak = Math.max(peak, row[j]);
      }
      let total = 0;
      for (let j = 0; j < T; j++) total += row[j] = Math.exp(row[j] - peak);
      for (let j = 0; j < T; j++) row[j] /= total;
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = 0; j < T; j++) acc += row[j] * v[base + j * D + d];
        o[base + i * D + d] = acc;
      }
    }
  }
  return { o, p };
}

/** L = Σ tanh(o)·r and its gradients (dq, dk, dv), all in float64. */
function lossAndGrads64(q: Float64Array, k: Float64Array, v: Float64Array, r: Float64Array, shape: Shape4, scale: number) {
  const [B, H, T, D] = shape;
  const { o, p } = forward64(q, k, v, shape, scale);
  let loss = 0;
  const dO = o.map((x, i) => {
    loss += Math.tanh(x) * r[i];
    return r[i] * (1 - Math.tanh(x) ** 2);
  });
  const [dq, dk, dv] = [0, 1, 2].map(() => new Float64Array(q.length));
  const dS = new Float64Array(T);
  for (let b = 0; b < B * H; b++) {
    const base = b * T * D;
    for (let i = 0; i < T; i++) {
      const row = p.subarray((b * T + i) * T, (b * T + i + 1) * T);
      let centre = 0;
      for (let j = 0; j < T; j++) {
        let dp = 0;
        for (let d = 0; d < D; d++) {
          dp += dO[base + i * D + d] * v[base + j * D + d];
          dv[base + j * D + d] += row[j] * dO[base + i * D + d];
        }
        dS[j] = dp;
        centre += row[j] * dp;
      }
      for (let j = 0; j < T; j++) {
        const ds = row[j] * (dS[j] - centre) * scale;
        for (let d = 0; d < D; d++) {
          dq[base + i * D + d] += ds * k[base + j * D + d];
          dk[base + j * D + d] += ds * q[base + i * D + d];
        }
      }
    }
  }
  return { loss, grads: [dq, dk, dv] };
}

// ------------------------------------------------------------------------------------- GPU side

function randomInputs(shape: Shape4, seed: number, count: number, spread = 1.5): Float64Array[] {
  const random = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: count }, () => Float64Array.from(Float32Array.from({ length: n }, () => spread * (2 * random() - 1))));
}

const upload = (values: Float64Array, shape: readonly number[]) => h.tensor(Float32Array.from(values), shape);

function gpuLoss(implementation: Implementation, r: h.Tensor, scale?: number) {
  return ([q, k, v]: h.Tensor[]) => h.sum(h.mul(h.tanh(h.attention(q, k, v, { implementation, scale })), r));
}

/** ∇(Σ_k u_k·∇_k L): the Hessian of L times u, by differentiating the gradient again. */
function hessianTimes(loss: (xs: h.Tensor[]) => h.Tensor, u: h.Tensor[]) {
  return h.grad((xs: h.Tensor[]) => {
    const g = h.grad(loss)(xs);
    return g.map((gk, i) => h.sum(h.mul(gk, u[i]))).reduce((a, b) => h.add(a, b));
  });
}

async function readAll(ts: h.Tensor[]): Promise<Float32Array[]> {
  const out = await Promise.all(ts.map((t) => t.floats()));
  h.dispose(ts);
  return out;
}

function expectClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, limit = 1e-4): void {
  const error = maxRelativeError(actual, expected);
  assert(error <= limit, `${name}: relative error ${error.toExponential(2)} exceeds ${limit}`);
}

// ----------------------------------------------------------------------------------------- tests

// The kernels skip the 4-row groups of a 16-row block past T; the last block holds 1 (T 1, 20), 2 (197),
// 3 (43) or 4 (13) groups.
const FORWARD_SHAPES: Shape4[] = [[1, 2, 13, 16], [1, 1, 197, 64], [2, 1, 1, 8], [1, 3, 20, 4], [1, 2, 43, 8]];

test("attention: fused and composed forward match float64 (T 1, 13, 20, 43, 197; D 4, 8, 16, 64)", async () => {
  await h.init();
  for (const [n, shape] of FORWARD_SHAPES.entries()) {
    const [q, k, v] = randomInputs(shape, 10 + n, 3);
    const scale = 1 / Math.sqrt(shape[3]);
    const { o } = forward64(q, k, v, shape, scale);
    for (const implementation of IMPLEMENTATIONS) {
      const out = h.tidy(() => h.attention(upload(q, shape), upload(k, shape), upload(v, shape), { implementation }));
      assertClose(out.shape, shape, { rtol: 0, atol: 0 }, "shape");
      expectClose(`${implementation} [${shape}]`, await out.floats(), o, 2e-6);
      out.dispose();
    }
  }
});

test("attention: first-order gradients of fused and composed match float64 (T 13, 43 and 197)", async () => {
  await h.init();
  for (const [n, shape] of ([[1, 2, 13, 16], [1, 1, 197, 64], [1, 2, 43, 8]] as Shape4[]).entries()) {
    const [q, k, v, r] = randomInputs(shape, 20 + n, 4);
    const scale = 1 / Math.sqrt(shape[3]);
    const { grads } = lossAndGrads64(q, k, v, r, shape, scale);
    for (const implementation of IMPLEMENTATIONS) {
      const actual = await readAll(h.tidy(() => {
        const rT = upload(r, shape);
        return h.grad(gpuLoss(implementation, rT))([q, k, v].map((x) => upload(x, shape)));
      }));
      ["q", "k", "v"].forEach((name, i) => expectClose(`${implementation} ∂L/∂${name} [${shape}]`, actual[i], grads[i]));
    }
  }
});

test("attention: the float64 reference gradient matches its own finite differences", () => {
  const shape: Shape4 = [1, 2, 5, 4];
  const [q, k, v, r, u] = randomInputs(shape, 30, 5);
  const scale = 0.7;
  const { grads } = lossAndGrads64(q, k, v, r, shape, scale);
  const eps = 1e-6;
  for (let which = 0; which < 3; which++) {
    const moved = (sign: number) => [q, k, v].map((x, i) => (i === which ? x.map((val, e) => val + sign * eps * u[e]) : x));
    const [qp, kp, vp] = moved(1);
    const [qm, km, vm] = moved(-1);
    const numeric = (lossAndGrads64(qp, kp, vp, r, shape, scale).loss - lossAndGrads64(qm, km, vm, r, shape, scale).loss) / (2 * eps);
    const analytic = grads[which].reduce((acc, g, e) => acc + g * u[e], 0);
    assert(Math.abs(numeric - analytic) <= 1e-7 * Math.max(1, Math.abs(analytic)), `input ${which}: ${analytic} vs ${numeric}`);
  }
});

test("attention: second order (Hessian·u) of fused and composed matches float64 finite differences (T 13, 43 and 197)", async () => {
  await h.init();
  for (const [n, shape] of ([[1, 2, 13, 16], [1, 1, 197, 64], [1, 2, 43, 8]] as Shape4[]).entries()) {
    const [q, k, v, r, uq, uk, uv] = randomInputs(shape, 40 + n, 7);
    const scale = 1 / Math.sqrt(shape[3]);
    // Central differences of the float64 gradient along u = (uq, uk, uv).
    const eps = 1e-4;
    const along = (sign: number) =>
      lossAndGrads64(...([q, k, v].map((x, i) => x.map((val, e) => val + sign * eps * [uq, uk, uv][i][e])) as [Float64Array, Float64Array, Float64Array]), r, shape, scale).grads;
    const plus = along(1);
    const minus = along(-1);
    const expected = plus.map((g, i) => g.map((val, e) => (val - minus[i][e]) / (2 * eps)));
    for (const implementation of IMPLEMENTATIONS) {
      const actual = await readAll(h.tidy(() => {
        const rT = upload(r, shape);
        const u = [uq, uk, uv].map((x) => upload(x, shape));
        return hessianTimes(gpuLoss(implementation, rT), u)([q, k, v].map((x) => upload(x, shape)));
      }));
      ["q", "k", "v"].forEach((name, i) => expectClose(`${implementation} (H·u)_${name} [${shape}]`, actual[i], expected[i], 2e-4));
    }
  }
});

test("attention: third order through the fused path equals the composed path", async () => {
  await h.init();
  const shape: Shape4 = [1, 1, 6, 4];
  const [q, k, v, r, u, w] = randomInputs(shape, 50, 6);
  const results: Float32Array[][] = [];
  for (const implementation of IMPLEMENTATIONS) {
    results.push(await readAll(h.tidy(() => {
      const rT = upload(r, shape);
      const [uT, wT] = [u, w].map((x) => upload(x, shape));
      const loss = gpuLoss(implementation, rT);
      // w·∇_q(u·∇_q(∇_q L ·u)): differentiates the attentionBackward rule once more.
      const second = (xs: h.Tensor[]) => h.sum(h.mul(hessianTimes(loss, [uT, uT, uT])(xs)[0], wT));
      return h.grad(second)([q, k, v].map((x) => upload(x, shape)));
    })));
  }
  ["q", "k", "v"].forEach((name, i) => expectClose(`third order ∂/∂${name}`, results[0][i], results[1][i], 1e-4));
});

interface GoldenCase {
  shape: Shape4;
  scale: number;
  q: number[];
  k: number[];
  v: number[];
  r: number[];
  o: number[];
  dL1_dq: number[];
  dL1_dk: number[];
  dL1_dv: number[];
  dL2_dq: number[];
  dL2_dk: number[];
  dL2_dv: number[];
}

test("attention: matches PyTorch float64 golden values (forward, gradients, second order)", async () => {
  await h.init();
  const { cases } = await loadGolden<GoldenCase>("attention_golden.json");
  assert(cases.length > 0, "no golden cases");
  for (const c of cases) {
    for (const implementation of IMPLEMENTATIONS) {
      const label = `${implementation} [${c.shape}]`;
      const [o, g1q, g1k, g1v, g2q, g2k, g2v] = await readAll(h.tidy(() => {
        const [q, k, v, r] = [c.q, c.k, c.v, c.r].map((x) => h.tensor(Float32Array.from(x), c.shape));
        const loss = gpuLoss(implementation, r, c.scale);
        const first = h.grad(loss)([q, k, v]);
        // L2 = Σ ‖∂L1/∂x‖² over q, k, v: the harmonizer's pattern of a loss on an input gradient.
        const second = h.grad((xs: h.Tensor[]) => h.grad(loss)(xs).map((g) => h.sum(h.mul(g, g))).reduce((a, b) => h.add(a, b)))([q, k, v]);
        return [h.attention(q, k, v, { implementation, scale: c.scale }), ...first, ...second];
      }));
      expectClose(`${label} forward`, o, c.o);
      expectClose(`${label} ∂L1/∂q`, g1q, c.dL1_dq);
      expectClose(`${label} ∂L1/∂k`, g1k, c.dL1_dk);
      expectClose(`${label} ∂L1/∂v`, g1v, c.dL1_dv);
      expectClose(`${label} ∂L2/∂q`, g2q, c.dL2_dq);
      expectClose(`${label} ∂L2/∂k`, g2k, c.dL2_dk);
      expectClose(`${label} ∂L2/∂v`, g2v, c.dL2_dv);
    }
  }
});

test("attention: fused matches float64 when the batch spans several texture layers", async () => {
  await h.init();
  // 520 rows per batch: a texture of maxTextureDimension2D (8192 by default) rows holds 15 batches
  // per layer, so 18 batches use two layers, the second one partly.
  const shape: Shape4 = [2, 9, 520, 4];
  const [q, k, v, r] = randomInputs(shape, 80, 4);
  const scale = 0.5;
  const { o } = forward64(q, k, v, shape, scale);
  const { grads } = lossAndGrads64(q, k, v, r, shape, scale);
  const [out, dq, dk, dv] = await readAll(h.tidy(() => {
    const xs = [q, k, v].map((x) => upload(x, shape));
    const rT = upload(r, shape);
    return [h.attention(xs[0], xs[1], xs[2], { implementation: "fused", scale }), ...h.grad(gpuLoss("fused", rT, scale))(xs)];
  }));
  expectClose("layers o", out, o, 2e-6);
  [dq, dk, dv].forEach((g, i) => expectClose(`layers ∂L/∂${"qkv"[i]}`, g, grads[i]));
});

test("attention: default picks the fused kernel where it applies and the composed path elsewhere", async () => {
  await h.init();
  for (const shape of [[1, 2, 9, 8], [2, 7, 6], [1, 5, 3]] as number[][]) {
    const n = shape.length;
    const [q, k, v] = randomInputs([1, 1, 1, shape.reduce((a, b) => a * b, 1)], 60 + n, 3);
    const [fused, composed] = await readAll(h.tidy(() => {
      const [qT, kT, vT] = [q, k, v].map((x) => upload(x, shape));
      return [h.attention(qT, kT, vT), h.attention(qT, kT, vT, { implementation: "composed" })];
    }));
    expectClose(`default vs composed [${shape}]`, fused, composed, 2e-6);
  }
  const odd = h.zeros([1, 5, 6]);
  assertThrows(() => h.attention(odd, odd, odd, { implementation: "fused" }), /fused kernel needs .*head dim/);
  assertThrows(() => h.attention(odd, h.zeros([1, 5, 4]), odd), /one head dim/);
  assertThrows(() => h.attention(odd, odd, h.zeros([2, 5, 6])), /equal leading axes/);
  odd.dispose();
});

test("attention: fused first- and second-order steps return live GPU memory to its baseline", async () => {
  await h.init();
  const shape: Shape4 = [2, 3, 17, 16];
  const [q, k, v] = randomInputs(shape, 70, 3).map((x) => upload(x, shape));
  const loss = (xs: h.Tensor[]) => h.sum(h.tanh(h.attention(xs[0], xs[1], xs[2])));
  const before = h.memory().liveBytes;
  h.dispose(h.tidy(() => h.grad(loss)([q, k, v])));
  assertClose([h.memory().liveBytes], [before], { rtol: 0, atol: 0 }, "live bytes after a gradient");
  h.dispose(h.tidy(() => h.grad((xs: h.Tensor[]) => h.sum(h.mul(h.grad(loss)(xs)[0], xs[0])))([q, k, v])));
  assertClose([h.memory().liveBytes], [before], { rtol: 0, atol: 0 }, "live bytes after a second-order gradient");
  h.dispose([q, k, v]);
});
