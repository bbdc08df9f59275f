/**
 * The primitives: every op the engine runs on the GPU is one of these, and every other op is a
 * composition of them. Each primitive has a launcher (src/ops/impls.ts) and a gradient rule
 * (src/autograd/rules.ts); both tables are typed over this list, so a new primitive without
 * either does not compile.
 */
import type { Tensor } from "./tensor.ts";

/** gelu(x) is x·Φ(x), the exact GELU, in one kernel. */
export const UNARY_OPS = ["neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "tanh", "erf", "relu", "gelu"] as const;
/**
 * reluGrad(g, y) is g where y > 0, else 0: ReLU's backward in one kernel; geluGrad(g, x) is g·gelu′(x)
 * and geluSecondGrad(g, x) is g·gelu″(x), GELU's backward and the x-part of its gradient.
 */
export const BINARY_OPS = [
  "add", "sub", "mul", "div", "pow", "maximum", "minimum",
  "less", "lessEqual", "greater", "greaterEqual", "equal", "notEqual", "reluGrad", "geluGrad",
  "geluSecondGrad",
] as const;

export type UnaryOp = typeof UNARY_OPS[number];
export type BinaryOp = typeof BINARY_OPS[number];

type None = Record<never, never>;

/** What each primitive is parameterised by, besides its tensor inputs. */
export type PrimitiveAttrs =
  & { [P in UnaryOp]: None }
  & { [P in BinaryOp]: None }
  & {
    /** where(cond, a, b): a where cond ≠ 0 else b, broadcasting all three. */
    where: None;
    /** h·g·gelu″(x) of (h, g, x) of one shape in one kernel: geluGrad's x-part, without the product h·g. */
    geluSecondGradProduct: None;
    /** Reductions over `axes` (sorted, unique); output keeps reduced axes as size 1 if keepDims. */
    sum: { axes: number[]; keepDims: boolean };
    max: { axes: number[]; keepDims: boolean };
    min: { axes: number[]; keepDims: boolean };
    /** Σ x² over `axes` in one pass (the weight penalty, gradient norms): no squared copy of x is made. */
    sumSquares: { axes: number[]; keepDims: boolean };
    argmax: { axis: number; keepDims: boolean };
    /** Batched matrix product [..., M, K] × [..., K, N] with optional transposes of either side. */
    matmul: { transA: boolean; transB: boolean };
    /** Σᵢ op(Aᵢ)·op(Bᵢ) of matrices, inputs [A₀, B₀, A₁, B₁, …]: transA[i], transB[i] transpose term i's operands. */
    matmulSum: { transA: boolean[]; transB: boolean[] };
    /** Column sums of Σᵢ aᵢ⊙bᵢ of [rows, cols] operands [a₀, b₀, a₁, b₁, …] (up to three pairs) → [cols]. */
    sumProducts: None;
    reshape: { shape: number[] };
    permute: { perm: number[] };
    /** Broadcast to `shape` (numpy rules: size-1 axes stretch, missing leading axes are added). */
    expand: { shape: number[] };
    slice: { begin: number[]; size: number[] };
    /** Constant padding: pads[d] = [before, after], both ≥ 0. */
    pad: { pads: [number, number][]; value: number };
    concat: { axis: number };
    /** out[...i...] = x[... indices[...i...] at `axis` ...]  (torch.gather semantics) */
    gather: { axis: number };
    /** Adjoint of gather: out has `size` along `axis`; out[... indices[i] ...] += src[i]. */
    scatterAdd: { axis: number; size: number };
    cast: { dtype: "float32" | "int32" };
    /** 1-D correlation along `axis` with stride and zero padding: one pass of a separable blur. */
    correlate1d: Correlate1dAttrs;
    /** Its adjoint (transpose), mapping the output length back to the input length. */
    correlate1dAdjoint: Correlate1dAttrs;
    /** Fused softmax(scale·q·kᵀ)·v of q, k, v stacked as qkv [3, batch, T, D] → flat [batch·T·D + batch·T]: o, then each row's log-sum-exp. */
    /** (x − mean)·rsqrt(var + eps) over the last axis of x (layer norm without weight and bias). */
    layerNormalize: { eps: number };
    /** Gradient of ⟨g, layerNormalize(x)⟩ from (x, g) → like x. */
    layerNormalizeBackward: { eps: number };
    /** Gradient of ⟨h, layerNormalizeBackward(x, g)⟩ with respect to x, from (x, g, h) → like x. */
    layerNormalizeDoubleBackward: { eps: number };
    attention: { scale: number };
    /** Fused gradient of attention from (qkv, packed output, packed cotangent) → [3, batch, T, D]: dq, dk, dv. */
    attentionBackward: { scale: number };
    /**
     * Fused gradient of attentionBackward from (its result's cotangent, qkv, packed output, packed cotangent)
     * → flat [4·batch·T·D + batch·T]: q̄, k̄, v̄ stacked like qkv, then the packed cotangent's cotangent.
     */
    attentionDoubleBackward: { scale: number };
    /** NCHW ⋆ OIHW cross-correlation → [N, O, OH, OW]. */
    conv2d: ConvAttrs;
    /** Transposed convolution: the gradient of conv2d w.r.t. x [N, C, inputSize] from gy and w. */
    conv2dInputGrad: ConvAttrs & { inputSize: [number, number] };
    /** The gradient of conv2d w.r.t. w [O, C/groups, kernelSize] from x and gy. */
    conv2dWeightGrad: ConvAttrs & { kernelSize: [number, number] };
    /** Max-pool windows of NCHW x → int32 [N, C, OH, OW]: flat index ih·W + iw of each window's max. */
    maxPool2dArgmax: PoolAttrs;
    /** Per-channel mean and biased variance of x [N, C, ...] → [2, C] (src/ops/batch_norm_primitives.ts). */
    batchNormStats: None;
    /** Batch norm with the batch's statistics: (x, γ, β) → γ·x̂ + β. */
    batchNormTrain: { eps: number };
    /** Batch norm with given statistics: (x, mean, var, γ, β) → (x − mean)·rsqrt(var + eps)·γ + β. */
    batchNormEval: { eps: number };
    /** batchNormTrain's input cotangent from (x, γ, g). */
    batchNormTrainBackward: { eps: number };
    /** batchNormTrain's γ and β cotangents from (x, g) → [2, C]: Σ g·x̂, Σ g. */
    batchNormAffineGrad: { eps: number };
    /** batchNormTrainBackward's gradient sums from (x, g, h) → [5, C]: Σ g·x̂, Σ g, Σ h·x̂, Σ h, Σ h·g. */
    batchNormBackwardSums: { eps: number };
    /** (x, coefficients [≥ first + 2 + T, C], T = 1 or 2 terms like x) → c₀·x̂ + c₁ + Σ c₂₊ᵢ·termᵢ, per channel, c = the rows from `first`. */
    batchNormMix: { eps: number; first: number };
    /** batchNormTrainBackward's gradient coefficients from (batchNormBackwardSums, batchNormStats, γ) → [8, C], n = `count` values per channel. */
    batchNormMixCoefficients: { eps: number; count: number };
    /** relu(batchNormTrain(x, γ, β)) in one kernel (src/ops/fused_relu.ts). */
    batchNormTrainRelu: { eps: number };
    /** relu(batchNormEval(x, mean, var, γ, β)) in one kernel. */
    batchNormEvalRelu: { eps: number };
    /** relu(a + b), broadcasting, in one kernel: a residual block's output. */
    addRelu: None;
    /** ((x0 + x1) + x2) + … of 2..6 float32 tensors of one shape in one kernel, left to right (src/ops/add_n.ts). */
    addN: None;
  };

/** Geometry of a 2-D convolution; padding is [[top, bottom], [left, right]], already resolved. */
export interface ConvAttrs {
  stride: [number, number];
  dilation: [number, number];
  padding: [[number, number], [number, number]];
  groups: number;
}

/** Geometry of a 2-D pooling window; padded taps never win. */
export interface PoolAttrs {
  kernelSize: [number, number];
  stride: [number, number];
  dilation: [number, number];
  padding: [[number, number], [number, number]];
}

export type Primitive = keyof PrimitiveAttrs;

/** A 1-D correlation along one axis: out[j] = Σ_t taps[t]·x[j·stride + t − padBefore]. */
export interface Correlate1dAttrs {
  axis: number;
  taps: number[];
  stride: number;
  padBefore: number;
  /** Length along `axis` of the correlation's input. */
  inSize: number;
  /** Length along `axis` of the correlation's output. */
  outSize: number;
}

/** One application of a primitive, as a gradient tape records it. */
export interface Node<P extends Primitive = Primitive> {
  primitive: P;
  inputs: Tensor[];
  attrs: PrimitiveAttrs[P];
  output: Tensor;
}
