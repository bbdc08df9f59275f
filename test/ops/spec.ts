/**
 * The op-spec table machinery. A spec is one function written against `Ops<T>`, so it runs on the
 * GPU (float32) and on the float64 reference alike. Each spec is checked for:
 *   forward:      GPU vs reference;
 *   first order:  ∇L from grad() vs central differences of the reference, L = Σ w ⊙ f(x);
 *   second order: H·v from grad(grad()) vs mixed central differences of the reference.
 */
import * as h from "../../src/mod.ts";
import * as bn from "../../src/ops/batch_norm_primitives.ts";
import * as fused from "../../src/ops/fused_relu.ts";
import { attentionDoubleBackward, attentionPacked, packedAttention, qkvAttention } from "../../src/ops/attention.ts";
import * as ln from "../../src/ops/layer_norm.ts";
import { addN } from "../../src/ops/add_n.ts";
import { geluSecondGradProduct } from "../../src/ops/activation.ts";
import { matmulSum } from "../../src/ops/matmul.ts";
import { sumProducts } from "../../src/ops/sum_products.ts";
import { type Correlate1d, Ref, ref } from "../support/reference.ts";
import { refConv2d, type RefGeometry, refPool2d, type RefPool } from "../support/reference_conv.ts";
import { assertClose, test } from "../harness.ts";
import { checkGrads } from "../support/check_grads.ts";
import { rng, seededValues } from "../support/random.ts";

/** The subset of the API a spec may use; implemented by the GPU ops and by the reference. */
export interface Ops<T> {
  neg(x: T): T; exp(x: T): T; log(x: T): T; sqrt(x: T): T; rsqrt(x: T): T; abs(x: T): T;
  sign(x: T): T; tanh(x: T): T; erf(x: T): T; relu(x: T): T; gelu(x: T): T;
  add(a: T, b: T): T; sub(a: T, b: T): T; mul(a: T, b: T): T; div(a: T, b: T): T; pow(a: T, b: T): T;
  maximum(a: T, b: T): T; minimum(a: T, b: T): T;
  less(a: T, b: T): T; lessEqual(a: T, b: T): T; greater(a: T, b: T): T; greaterEqual(a: T, b: T): T;
  equal(a: T, b: T): T; notEqual(a: T, b: T): T;
  where(c: T, a: T, b: T): T;
  sum(x: T, axes: number[], keepDims?: boolean): T;
  max(x: T, axes: number[], keepDims?: boolean): T;
  min(x: T, axes: number[], keepDims?: boolean): T;
  sumSquares(x: T, axes: number[], keepDims?: boolean): T;
  matmul(a: T, b: T, options?: { transA?: boolean; transB?: boolean }): T;
  reshape(x: T, shape: number[]): T;
  permute(x: T, perm: number[]): T;
  broadcastTo(x: T, shape: number[]): T;
  slice(x: T, begin: number[], size: number[]): T;
  pad(x: T, pads: [number, number][], value?: number): T;
  concat(xs: T[], axis: number): T;
  gather(x: T, indices: T, axis: number): T;
  scatterAdd(src: T, indices: T, axis: number, size: number): T;
  logSumExp(x: T, axes: number[], keepDims?: boolean): T;
  softmax(x: T, axis: number): T;
  correlate1d(x: T, attrs: Correlate1d): T;
  correlate1dAdjoint(g: T, attrs: Correlate1d): T;
  batchNormStats(x: T): T;
  batchNormTrain(x: T, weight: T, bias: T, eps: number): T;
  batchNormEval(x: T, mean: T, variance: T, weight: T, bias: T, eps: number): T;
  batchNormTrainBackward(x: T, weight: T, g: T, eps: number): T;
  batchNormAffineGrad(x: T, g: T, eps: number): T;
  batchNormBackwardSums(x: T, g: T, h: T, eps: number): T;
  batchNormMix(x: T, coefficients: T, terms: T[], eps: number, first?: number): T;
  batchNormMixCoefficients(sums: T, stats: T, weight: T, eps: number, count: number): T;
  reluGrad(g: T, y: T): T;
  /** g·gelu′(x), gelu′(x) = Φ(x) + x·φ(x). */
  geluGrad(g: T, x: T): T;
  /** g·gelu″(x), gelu″(x) = φ(x)·(2 − x²). */
  geluSecondGrad(g: T, x: T): T;
  /** h·g·gelu″(x): geluGrad's x-part (the GPU's geluSecondGradProduct primitive where it fits). */
  geluSecondGradProduct(h: T, g: T, x: T): T;
  batchNormTrainRelu(x: T, weight: T, bias: T, eps: number): T;
  batchNormEvalRelu(x: T, mean: T, variance: T, weight: T, bias: T, eps: number): T;
  addRelu(a: T, b: T): T;
  /** ((x0 + x1) + x2) + … of tensors of one shape. */
  addN(xs: T[]): T;
  /** Σᵢ op(aᵢ)·op(bᵢ) of matrices (the GPU's matmulSum primitive). */
  matmulSum(terms: { a: T; b: T; transA?: boolean; transB?: boolean }[]): T;
  /** Σᵢ of aᵢ⊙bᵢ summed over the leading axes, operands [..., C] → [C] (the GPU's sumProducts primitive). */
  sumProducts(pairs: [T, T][]): T;
  conv2d(x: T, w: T, geometry: RefGeometry): T;
  maxPool2d(x: T, window: RefPool): T;
  /** softmax(q·kᵀ/√D)·v of [batch, T, D] operands; the GPU runs the fused kernel. */
  attention(q: T, k: T, v: T): T;
  /** (x − mean)·rsqrt(var + eps) over the last axis (the fused layer-norm kernel). */
  layerNormalize(x: T, eps: number): T;
  /** The gradient of ⟨g, layerNormalize(x)⟩ with respect to x. */
  layerNormalizeBackward(x: T, g: T, eps: number): T;
  /** The gradient of ⟨h, layerNormalizeBackward(x, g)⟩ with respect to x. */
  layerNormalizeDoubleBackward(x: T, g: T, h: T, eps: number): T;
  /** attention of q, k, v stacked as qkv [3, batch, T, D]; the GPU runs the fused kernel on the stack. */
  packedAttention(qkv: T): T;
  /** multi-head attention of a qkv projection [B, T, 3, H, D] → [B, T, H, D]; the GPU runs the fused kernel in place. */
  qkvAttention(qkv: T): T;
  /**
   * attentionDoubleBackward of g, qkv ([3, batch, T, D], or [B, T, 3, H, D] with batch = B·H) and a
   * packed cotangent [batch·T·(D + 1)] with scale 1/√D; the GPU runs the fused kernels on the fused
   * forward's output, the reference composes.
   */
  attentionDoubleBackward(g: T, qkv: T, cotangent: T): T;
  argmax(x: T, axis: number): T;
  cast(x: T, dtype: "float32" | "int32"): T;
  /** A constant: float values, or int32 indices when `int` is set. */
  constant(values: number[], shape: number[], int?: boolean): T;
}

export const gpuOps: Ops<h.Tensor> = {
  neg: h.neg, exp: h.exp, log: h.log, sqrt: h.sqrt, rsqrt: h.rsqrt, abs: h.abs, sign: h.sign,
  tanh: h.tanh, erf: h.erf, relu: h.relu,
  add: h.add, sub: h.sub, mul: h.mul, div: h.div, pow: h.pow, maximum: h.maximum, minimum: h.minimum,
  less: h.less, lessEqual: h.lessEqual, greater: h.greater, greaterEqual: h.greaterEqual,
  equal: h.equal, notEqual: h.notEqual, where: h.where,
  sum: h.sum, max: h.max, min: h.min, sumSquares: h.sumSquares, matmul: h.matmul, reshape: h.reshape, permute: h.permute,
  broadcastTo: h.broadcastTo, slice: h.slice, pad: h.pad, concat: h.concat, gather: h.gather,
  scatterAdd: h.scatterAdd, logSumExp: h.logSumExp, softmax: h.softmax,
  correlate1d: h.correlate1d, correlate1dAdjoint: h.correlate1dAdjoint,
  batchNormStats: bn.batchNormStats, batchNormTrain: bn.batchNormTrain, batchNormEval: bn.batchNormEval,
  batchNormTrainBackward: bn.batchNormTrainBackward, batchNormAffineGrad: bn.batchNormAffineGrad,
  batchNormBackwardSums: bn.batchNormBackwardSums, batchNormMix: bn.batchNormMix, batchNormMixCoefficients: bn.batchNormMixCoefficients,
  reluGrad: h.reluGrad, gelu: h.gelu, geluGrad: h.geluGrad, geluSecondGrad: h.geluSecondGrad, geluSecondGradProduct, batchNormTrainRelu: fused.batchNormTrainRelu, batchNormEvalRelu: fused.batchNormEvalRelu,
  addRelu: fused.addRelu,
  addN,
  matmulSum: (terms) => matmulSum(terms.map(({ a, b, transA = false, transB = false }) => ({ a, b, transA, transB }))),
  sumProducts,
  conv2d: (x, w, { stride, padding, dilation, groups }) => h.conv2d(x, w, { stride, padding, dilation, groups }),
  maxPool2d: (x, { kernel, stride, padding, dilation }) => h.maxPool2d(x, { kernelSize: kernel, stride, padding, dilation }),
  attention: (q, k, v) => h.attention(q, k, v, { implementation: "fused" }),
  packedAttention: (qkv) => packedAttention(qkv, { implementation: "fused" }),
  qkvAttention: (qkv) => qkvAttention(qkv, { implementation: "fused" }),
  attentionDoubleBackward: (g, qkv, cotangent) => {
    const scale = 1 / Math.sqrt(qkv.shape[qkv.rank - 1]);
    return attentionDoubleBackward(g, qkv, attentionPacked(qkv, scale), cotangent, scale);
  },
  layerNormalize: ln.layerNormalize,
  layerNormalizeBackward: ln.layerNormalizeBackward,
  layerNormalizeDoubleBackward: ln.layerNormalizeDoubleBackward,
  argmax: (x, axis) => h.argmax(x, axis),
  cast: h.cast,
  constant: (values, shape, int) => h.tensor(int ? Int32Array.from(values) : Float32Array.from(values), shape),
};

export const refOps: Ops<Ref> = {
  ...ref,
  reluGrad: (g, y) => ref.mul(g, ref.greater(y, new Ref([], Float64Array.of(0)))),
  gelu: (x) => ref.mul(x, refNormalCdf(x)),
  geluGrad: (g, x) => ref.mul(g, ref.add(refNormalCdf(x), ref.mul(x, refNormalDensity(x)))),
  geluSecondGrad: (g, x) => ref.mul(g, ref.mul(refNormalDensity(x), ref.sub(new Ref([], Float64Array.of(2)), ref.mul(x, x)))),
  geluSecondGradProduct: (h, g, x) => refOps.geluSecondGrad(ref.mul(h, g), x),
  batchNormTrainRelu: (x, weight, bias, eps) => ref.relu(ref.batchNormTrain(x, weight, bias, eps)),
  batchNormEvalRelu: (x, mean, variance, weight, bias, eps) => ref.relu(ref.batchNormEval(x, mean, variance, weight, bias, eps)),
  batchNormBackwardSums: (x, g, h, eps) => {
    const channels = x.shape[1];
    const sumHg = ref.reshape(ref.sum(ref.mul(h, g), x.shape.map((_, i) => i).filter((i) => i !== 1)), [1, channels]);
    return ref.concat([ref.batchNormAffineGrad(x, g, eps), ref.batchNormAffineGrad(x, h, eps), sumHg], 0);
  },
  batchNormMix: (x, coefficients, terms, eps, first = 0) => {
    const channels = x.shape[1];
    const row = (i: number) => ref.reshape(ref.slice(coefficients, [first + i, 0], [1, channels]), [channels]);
    const perChannel = (i: number) => ref.reshape(row(i), [1, channels, ...x.shape.slice(2).map(() => 1)]);
    return terms.reduce((acc, t, i) => ref.add(acc, ref.mul(perChannel(2 + i), t)), ref.batchNormTrain(x, row(0), row(1), eps));
  },
  batchNormMixCoefficients: (sums, stats, weight, eps, count) => {
    // the formulas of batchNormTrainBackwardVjp (src/ops/batch_norm_primitives.ts) in float64
    const channels = weight.shape[0];
    const row = (t: Ref, i: number) => ref.reshape(ref.slice(t, [i, 0], [1, channels]), [channels]);
    const c = (v: number) => new Ref([], Float64Array.of(v));
    const [sgx, sg, hxx, hx, shg] = [0, 1, 2, 3, 4].map((i) => row(sums, i));
    const r = ref.rsqrt(ref.add(row(stats, 1), c(eps)));
    const m = c(-1 / count);
    const k = ref.add(shg, ref.mul(ref.add(ref.mul(hx, sg), ref.mul(hxx, sgx)), m));
    const q = ref.mul(ref.mul(weight, ref.mul(r, r)), m);
    const cross = ref.mul(ref.mul(sgx, hxx), m);
    const gr = ref.mul(weight, r);
    const grm = ref.mul(gr, m);
    const rows = [
      ref.mul(q, ref.add(k, ref.add(cross, cross))), ref.mul(ref.mul(q, ref.add(ref.mul(sgx, hx), ref.mul(hxx, sg))), m),
      ref.mul(q, sgx), ref.mul(q, hxx), ref.mul(grm, hxx), ref.mul(grm, hx), gr, ref.mul(r, k),
    ];
    return ref.concat(rows.map((v) => ref.reshape(v, [1, channels])), 0);
  },
  addRelu: (a, b) => ref.relu(ref.add(a, b)),
  addN: (xs) => xs.reduce((total, x) => ref.add(total, x)),
  matmulSum: (terms) => terms.map(({ a, b, ...trans }) => ref.matmul(a, b, trans)).reduce((total, p) => ref.add(total, p)),
  sumProducts: (pairs) => {
    const leading = pairs[0][0].shape.slice(0, -1).map((_, i) => i);
    return pairs.map(([a, b]) => ref.sum(ref.mul(a, b), leading)).reduce((total, s) => ref.add(total, s));
  },
  sumSquares: (x, axes, keepDims) => ref.sum(ref.mul(x, x), axes, keepDims),
  concat: (xs, axis) => ref.concat(xs, axis),
  conv2d: (x, w, geometry) => {
    const { data, shape } = refConv2d(x.data, w.data, { x: x.shape as RefShape4, w: w.shape as RefShape4 }, geometry);
    return new Ref(shape, data);
  },
  maxPool2d: (x, window) => {
    const { data, shape } = refPool2d(x.data, x.shape, window, "max");
    return new Ref(shape, data);
  },
  attention: (q, k, v) => {
    const scale = new Ref([], Float64Array.of(1 / Math.sqrt(q.shape[q.shape.length - 1])));
    return ref.matmul(ref.softmax(ref.mul(ref.matmul(q, k, { transB: true }), scale), q.shape.length - 1), v);
  },
  layerNormalize: (x, eps) => refLayerNormalize(x, eps).normalized,
  layerNormalizeBackward: (x, g, eps) => {
    const { normalized, r } = refLayerNormalize(x, eps);
    const rowMean = (t: Ref) => ref.mul(ref.sum(t, [t.shape.length - 1], true), new Ref([], Float64Array.of(1 / t.shape[t.shape.length - 1])));
    return ref.mul(r, ref.sub(ref.sub(g, rowMean(g)), ref.mul(normalized, rowMean(ref.mul(g, normalized)))));
  },
  layerNormalizeDoubleBackward: (x, g, h, eps) => {
    // the formula of src/ops/layer_norm.ts in float64; its own derivation is checked by the
    // second-order rows of layerNormalizeBackward (finite differences of that row's reference)
    const { normalized, r } = refLayerNormalize(x, eps);
    const n = x.shape[x.shape.length - 1];
    const c = (v: number) => new Ref([], Float64Array.of(v));
    const rowSum = (t: Ref) => ref.sum(t, [t.shape.length - 1], true);
    const [sgx, sg, hxx, hx, shg] = [ref.mul(g, normalized), g, ref.mul(h, normalized), h, ref.mul(h, g)].map(rowSum);
    const q = ref.mul(ref.mul(r, r), c(-1 / n));
    const k = ref.sub(shg, ref.mul(ref.add(ref.mul(hx, sg), ref.mul(hxx, sgx)), c(1 / n)));
    const shift = ref.mul(ref.add(ref.mul(sgx, hx), ref.mul(hxx, sg)), c(-1 / n));
    const scale = ref.sub(k, ref.mul(ref.mul(sgx, hxx), c(2 / n)));
    const inner = ref.add(ref.add(ref.mul(sgx, h), ref.mul(hxx, g)), ref.add(shift, ref.mul(scale, normalized)));
    return ref.mul(q, inner);
  },
  packedAttention: (qkv) => {
    const shape = qkv.shape.slice(1);
    const [q, k, v] = [0, 1, 2].map((i) => ref.reshape(ref.slice(qkv, [i, ...shape.map(() => 0)], [1, ...shape]), shape));
    return refOps.attention(q, k, v);
  },
  qkvAttention: (qkv) => {
    const [B, T, , H, D] = qkv.shape;
    const heads = refOps.packedAttention(ref.reshape(ref.permute(qkv, [2, 0, 3, 1, 4]), [3, B * H, T, D]));
    return ref.permute(ref.reshape(heads, [B, H, T, D]), [0, 2, 1, 3]);
  },
  attentionDoubleBackward: (g, qkv, cotangent) => {
    if (qkv.shape.length === 4) return refAttentionDoubleBackward(g, qkv, cotangent);
    // A projection: the same composition on the stacked layout, its results moved back.
    const [B, T, , H, D] = qkv.shape;
    const stack = (x: Ref) => ref.reshape(ref.permute(x, [2, 0, 3, 1, 4]), [3, B * H, T, D]);
    const n = B * T * H * D;
    const moveO = (x: Ref, shape: number[], size: number) =>
      ref.concat([ref.reshape(ref.permute(ref.reshape(ref.slice(x, [0], [n]), shape), [0, 2, 1, 3]), [n]), ref.slice(x, [n], [size - n])], 0);
    const out = refAttentionDoubleBackward(stack(g), stack(qkv), moveO(cotangent, [B, T, H, D], cotangent.size));
    const grads = ref.permute(ref.reshape(ref.slice(out, [0], [3 * n]), [3, B, H, T, D]), [1, 3, 0, 2, 4]);
    return ref.concat([ref.reshape(grads, [3 * n]), moveO(ref.slice(out, [3 * n], [out.size - 3 * n]), [B, H, T, D], out.size - 3 * n)], 0);
  },
  cast: (x, dtype) => new Ref(x.shape, dtype === "int32" ? x.data.map(Math.trunc) : x.data),
  constant: (values, shape) => new Ref(shape, Float64Array.from(values)),
};

/** attentionBackwardVjp's composition (src/ops/attention.ts) in float64, with P = softmax(scale·q·kᵀ). */
function refAttentionDoubleBackward(g: Ref, qkv: Ref, cotangent: Ref): Ref {
  const [, batch, T, D] = qkv.shape;
  const c = (v: number) => new Ref([], Float64Array.of(v));
  const parts = (x: Ref) => [0, 1, 2].map((i) => ref.reshape(ref.slice(x, [i, 0, 0, 0], [1, batch, T, D]), [batch, T, D]));
  const [q, k, v] = parts(qkv);
  const [a, b, gv] = parts(g);
  const rows = batch * T;
  const dO = ref.reshape(ref.slice(cotangent, [0], [rows * D]), [batch, T, D]);
  const dLse = ref.reshape(ref.slice(cotangent, [rows * D], [rows]), [batch, T, 1]);
  const scale = c(1 / Math.sqrt(D));
  const rowSum = (t: Ref) => ref.sum(t, [2], true);
  const transA = { transA: true };
  const transB = { transB: true };
  const p = ref.softmax(ref.mul(ref.matmul(q, k, transB), scale), 2);
  const dP = ref.matmul(dO, v, transB);
  const centred = ref.sub(dP, ref.sub(rowSum(ref.mul(p, dP)), dLse));
  const dS = ref.mul(p, centred);
  const w = ref.mul(ref.add(ref.matmul(a, k, transB), ref.matmul(q, b, transB)), scale);
  const wRow = rowSum(ref.mul(w, p));
  const pBar = ref.add(ref.sub(ref.mul(w, centred), ref.mul(wRow, dP)), ref.matmul(dO, gv, transB));
  const dPBar = ref.mul(p, ref.sub(w, wRow));
  const sBar = ref.mul(p, ref.sub(pBar, rowSum(ref.mul(pBar, p))));
  const qBar = ref.mul(ref.add(ref.matmul(dS, b), ref.matmul(sBar, k)), scale);
  const kBar = ref.mul(ref.add(ref.matmul(dS, a, transA), ref.matmul(sBar, q, transA)), scale);
  const vBar = ref.matmul(dPBar, dO, transA);
  const dOBar = ref.add(ref.matmul(p, gv), ref.matmul(dPBar, v));
  return ref.concat([qBar, kBar, vBar, dOBar, wRow].map((t) => ref.reshape(t, [t.size])), 0);
}

type RefShape4 = [number, number, number, number];

/** φ(x) = e^(−x²/2)/√(2π), from reference ops. */
function refNormalDensity(x: Ref): Ref {
  return ref.mul(ref.exp(ref.mul(ref.mul(x, x), new Ref([], Float64Array.of(-0.5)))), new Ref([], Float64Array.of(1 / Math.sqrt(2 * Math.PI))));
}

/** Φ(x) = ½(1 + erf(x/√2)), from reference ops. */
function refNormalCdf(x: Ref): Ref {
  const half = new Ref([], Float64Array.of(0.5));
  return ref.mul(half, ref.add(new Ref([], Float64Array.of(1)), ref.erf(ref.mul(x, new Ref([], Float64Array.of(Math.SQRT1_2))))));
}

/** Layer norm's x̂ over the last axis and r = rsqrt(var + eps) per row, from reference ops. */
function refLayerNormalize(x: Ref, eps: number): { normalized: Ref; r: Ref } {
  const last = x.shape.length - 1;
  const rowMean = (t: Ref) => ref.mul(ref.sum(t, [last], true), new Ref([], Float64Array.of(1 / x.shape[last])));
  const centred = ref.sub(x, rowMean(x));
  const r = ref.rsqrt(ref.add(rowMean(ref.mul(centred, centred)), new Ref([], Float64Array.of(eps))));
  return { normalized: ref.mul(centred, r), r };
}

export type Domain = "any" | "positive" | "awayFromZero" | "unit";

export interface InputSpec {
  shape: number[];
  domain?: Domain;
}

export interface OpSpec {
  name: string;
  inputs: InputSpec[];
  fn: <T>(o: Ops<T>, ...xs: T[]) => T;
  /** Highest gradient order to check: 0 forward only, 1, or 2 (default 2). */
  order?: 0 | 1 | 2;
  /** Forward tolerance (default rtol 1e-5, atol 1e-6). */
  rtol?: number;
  atol?: number;
}

function sample(domain: Domain, random: () => number): number {
  const u = random();
  switch (domain) {
    case "positive":
      return 0.5 + 1.5 * u;
    case "awayFromZero":
      return (u < 0.5 ? -1 : 1) * (0.2 + 1.3 * random());
    case "unit":
      return u;
    default:
      return 2 * u - 1;
  }
}

/** Float32-representable inputs, so the GPU and the reference see the same numbers. */
function makeInputs(spec: OpSpec, seed: number): Float64Array[] {
  const random = rng(seed);
  return spec.inputs.map(({ shape, domain = "any" }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return Float64Array.from(Float32Array.from({ length: n }, () => sample(domain, random)));
  });
}

function refLoss(spec: OpSpec, xs: Float64Array[], w: Float64Array): number {
  const out = spec.fn(refOps, ...xs.map((d, i) => new Ref(spec.inputs[i].shape, d)));
  let total = 0;
  for (let i = 0; i < out.data.length; i++) total += out.data[i] * w[i];
  return total;
}

/** Registers the forward, first- and second-order tests of one spec. */
export function checkSpec(spec: OpSpec): void {
  const order = spec.order ?? 2;
  const seed = [...spec.name].reduce((acc, c) => (acc * 31 + c.charCodeAt(0)) >>> 0, 7);

  test(`${spec.name}: forward matches float64`, async () => {
    await h.init();
    const xs = makeInputs(spec, seed);
    const expected = spec.fn(refOps, ...xs.map((d, i) => new Ref(spec.inputs[i].shape, d)));
    const out = h.tidy(() => spec.fn(gpuOps, ...xs.map((d, i) => h.tensor(Float32Array.from(d), spec.inputs[i].shape))));
    const actual = await out.data();
    out.dispose();
    assertClose([...out.shape], expected.shape, { rtol: 0, atol: 0 }, "shape");
    assertClose(actual, expected.data, { rtol: spec.rtol ?? 1e-5, atol: spec.atol ?? 1e-6 }, spec.name);
  });
  if (order < 1) return;

  const gradients = (order: 1 | 2) => async () => {
    const xs = makeInputs(spec, seed);
    const outSize = spec.fn(refOps, ...xs.map((d, i) => new Ref(spec.inputs[i].shape, d))).size;
    // L = Σ w ⊙ f(x) with seeded weights w: a scalar whose gradient reaches every output.
    const w = Float64Array.from(seededValues(outSize, seed + 1));
    const loss = (ins: h.Tensor[]) => h.sum(h.mul(h.reshape(spec.fn(gpuOps, ...ins), [-1]), h.tensor(Float32Array.from(w), [outSize])));
    const inputs = xs.map((values, i) => ({ shape: spec.inputs[i].shape, values }));
    await checkGrads(loss, inputs, { order, seed: seed + 2, name: spec.name, value: false, reference: (ys) => refLoss(spec, ys, w) });
  };
  test(`${spec.name}: first-order gradient matches finite differences`, gradients(1));
  if (order < 2) return;
  test(`${spec.name}: second-order gradient (Hessian·v) matches finite differences`, gradients(2));
}
