/**
 * Launchers of the fused batch-norm kernels (shaders/batch_norm.wgsl) for x [N, C, ...]
 * normalised per channel over the other axes: statistics, the normalisation, the two halves
 * of its backward pass (the input's cotangent, and the per-channel sums that are γ's and β's),
 * and the passes of its double backward (five per-channel sums, the mixes' per-channel coefficients
 * from them, then a per-channel mix per cotangent).
 *
 * x's statistics are computed once per tensor: they are kept beside x's storage (tensors are
 * immutable) and freed with it, so every kernel that reads x after the first reuses them. The
 * backward's sums of a cotangent g are kept beside g's storage the same way (both halves of the
 * backward read them).
 */
import { engine, keep } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { shapeSize, type Tensor } from "../../tensor.ts";
import type { Storage } from "../../storage.ts";
import { launchFlat } from "./launch.ts";

/** Values per thread the partial passes aim for. */
const VALUES_PER_THREAD = 64;
/** At most this many partials per channel (one thread merges them). */
const MAX_CHUNKS = 4096;
/** llvmpipe ends an invocation's loops after 65535 iterations; stats_partial loops twice. */
const MAX_THREAD_LOOP = 32767;
/** Threads per row (one sample, one channel) in the elementwise passes: llvmpipe's SIMD width. */
const ROW_LANES = 8;

interface Geometry {
  batch: number;
  channels: number;
  plane: number;
  /** Values per channel. */
  count: number;
  /** Threads per channel in the partial passes. */
  chunks: number;
  /** Threads per row of `plane` values in the elementwise passes. */
  lanes: number;
}

/** Whether the fused kernels take x (at most MAX_CHUNKS · MAX_THREAD_LOOP values per channel). */
export function fusedBatchNormFits(x: Tensor): boolean {
  return x.rank >= 2 && x.size / x.shape[1] <= MAX_CHUNKS * MAX_THREAD_LOOP;
}

function geometry(op: string, x: Tensor): Geometry {
  if (x.rank < 2 || x.dtype !== "float32") throw new Error(`${op}: x must be float32 [N, C, ...], got ${x}`);
  const [batch, channels] = x.shape;
  const plane = shapeSize(x.shape.slice(2));
  const count = batch * plane;
  const chunks = Math.min(MAX_CHUNKS, Math.max(1, Math.ceil(count / VALUES_PER_THREAD)));
  if (Math.ceil(count / chunks) > MAX_THREAD_LOOP) {
    throw new Error(`${op}: ${count} values per channel exceed the kernel's limit of ${MAX_CHUNKS * MAX_THREAD_LOOP} (x ${x})`);
  }
  return rowGeometry({ batch, channels, plane, count, chunks, lanes: 0 }, plane);
}

/** Whether a pass can read x's planes as vec4s (16-byte loads on CPU adapters). */
const inVec4s = (geo: Geometry) => geo.plane % 4 === 0;

/** A partial pass' geometry: planes of vec4s where they divide (same threads, shorter walks). */
const partialPass = (geo: Geometry): Geometry => (inVec4s(geo) ? { ...geo, plane: geo.plane / 4, count: geo.count / 4 } : geo);

/** An elementwise pass' geometry: rows of vec4s where they divide. */
const rowPass = (geo: Geometry): Geometry => (inVec4s(geo) ? rowGeometry(geo, geo.plane / 4) : geo);

/** A pass' entry point, or its vec4 variant. */
const passEntry = (entry: string, geo: Geometry) => (inVec4s(geo) ? `${entry}_vec4` : entry);

/** The geometry of an elementwise pass over planes of `plane` items (values, or vec4s of them). */
function rowGeometry(geo: Geometry, plane: number): Geometry {
  return { ...geo, plane, lanes: Math.max(Math.min(plane, ROW_LANES), Math.ceil(plane / MAX_THREAD_LOOP)) };
}

function params({ batch, channels, plane, chunks, lanes }: Geometry, eps: number, varOffset = 0, firstRow = 0): Uint32Array {
  return new Params().u32(batch).u32(channels).u32(plane).u32(chunks).u32(varOffset).f32(eps).u32(lanes).u32(firstRow).build();
}

/** Threads of an elementwise pass. */
const rowThreads = ({ batch, channels, lanes }: Geometry) => batch * channels * lanes;

function checkChannelVector(op: string, name: string, t: Tensor, channels: number): void {
  if (t.rank !== 1 || t.shape[0] !== channels || t.dtype !== "float32") {
    throw new Error(`${op}: ${name} must be float32 [${channels}], got ${t}`);
  }
}

/**
 * x's [2, C] statistics, owned by x's storage (computed on first use): callers must neither
 * dispose them nor hand them out.
 */
function statsOf(op: string, x: Tensor, geo: Geometry): Tensor {
  return x.storage.derived(`batchNormStats [${x.shape}]`, () => {
    const partials = engine.allocate(op, [geo.channels * geo.chunks * 3]);
    const stats = keep(engine.allocate(op, [2, geo.channels]));
    const p = params(geo, 0);
    launchFlat("batch_norm", "stats_partial", p, [x, partials], geo.channels * geo.chunks);
    launchFlat("batch_norm", "stats_combine", p, [partials, stats], geo.channels);
    partials.dispose();
    return stats;
  });
}

/** [2, C]: each channel's mean, then its biased (÷ n) variance (a view of the statistics x keeps). */
export function batchNormStatsKernel(x: Tensor): Tensor {
  const stats = statsOf("batchNormStats", x, geometry("batchNormStats", x));
  return engine.view(stats, stats.shape);
}

/** RELU for the normalisation kernel: its output's ReLU in the same pass. */
const reluConstants = (relu: boolean) => ({ RELU: relu ? 1 : 0 });

/** Training: y = (x − μ)·rsqrt(σ² + eps)·weight + bias with the batch's own statistics (`relu`: max(y, 0)). */
export function batchNormKernel(x: Tensor, weight: Tensor, bias: Tensor, eps: number, relu = false): Tensor {
  const op = relu ? "batchNormRelu" : "batchNorm";
  const geo = geometry(op, x);
  checkChannelVector(op, "weight", weight, geo.channels);
  checkChannelVector(op, "bias", bias, geo.channels);
  const stats = statsOf(op, x, geo);
  const y = engine.allocate(op, x.shape);
  launchFlat("batch_norm", "normalize", params(geo, eps, geo.channels), [x, stats, stats, weight, bias, y], rowThreads(geo), reluConstants(relu));
  return y;
}

/** Evaluation: the same normalisation with given statistics (the running ones). */
export function batchNormInferenceKernel(
  x: Tensor, mean: Tensor, variance: Tensor, weight: Tensor, bias: Tensor, eps: number, relu = false,
): Tensor {
  const op = relu ? "batchNormInferenceRelu" : "batchNormInference";
  const geo = geometry(op, x);
  for (const [name, t] of [["mean", mean], ["variance", variance], ["weight", weight], ["bias", bias]] as const) {
    checkChannelVector(op, name, t, geo.channels);
  }
  const y = engine.allocate(op, x.shape);
  launchFlat("batch_norm", "normalize", params(geo, eps), [x, mean, variance, weight, bias, y], rowThreads(geo), reluConstants(relu));
  return y;
}

function checkLikeX(op: string, name: string, t: Tensor, x: Tensor): void {
  if (t.dtype !== "float32" || t.rank !== x.rank || t.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`${op}: ${name} ${t} must have x's shape ${x}`);
  }
}

const storageIds = new WeakMap<Storage, number>();
let storagesNamed = 0;
/** A number naming a storage, never given to another one. */
function storageId(storage: Storage): number {
  let id = storageIds.get(storage);
  if (id === undefined) storageIds.set(storage, id = ++storagesNamed);
  return id;
}

/**
 * Statistics and [Σg·x̂, Σg] per channel, both [2, C], owned by x's and g's storages (computed on
 * first use): callers must neither dispose them nor hand them out.
 */
function gradientSums(op: string, x: Tensor, g: Tensor, geo: Geometry, eps: number): { stats: Tensor; sums: Tensor } {
  checkLikeX(op, "the cotangent", g, x);
  const stats = statsOf(op, x, geo);
  const sums = g.storage.derived(`batchNormGradSums ${storageId(x.storage)} [${x.shape}] ${eps}`, () => {
    const partials = engine.allocate(op, [geo.channels * geo.chunks * 2]);
    const sums = keep(engine.allocate(op, [2, geo.channels]));
    const p = params(partialPass(geo), eps);
    launchFlat("batch_norm", passEntry("grad_partial", geo), p, [x, g, stats, partials], geo.channels * geo.chunks);
    launchFlat("batch_norm", "grad_combine", p, [partials, stats, sums], geo.channels);
    partials.dispose();
    return sums;
  });
  return { stats, sums };
}

/** [2, C]: Σ g·x̂ and Σ g per channel (the cotangents of the training normalisation's weight and bias). */
export function batchNormAffineGradKernel(x: Tensor, g: Tensor, eps: number): Tensor {
  const { sums } = gradientSums("batchNormAffineGrad", x, g, geometry("batchNormAffineGrad", x), eps);
  return engine.view(sums, sums.shape);
}

/** The training normalisation's input cotangent: weight·r·(g − mean(g) − x̂·mean(g·x̂)). */
export function batchNormBackwardKernel(x: Tensor, weight: Tensor, g: Tensor, eps: number): Tensor {
  const op = "batchNormBackward";
  const geo = geometry(op, x);
  checkChannelVector(op, "weight", weight, geo.channels);
  const { stats, sums } = gradientSums(op, x, g, geo, eps);
  const dx = engine.allocate(op, x.shape);
  const pass = rowPass(geo);
  launchFlat("batch_norm", passEntry("backward_input", geo), params(pass, eps), [x, g, stats, sums, weight, dx], rowThreads(pass));
  return dx;
}

/** Rows of batchNormBackwardSums' output. */
const CROSS_SUMS = 5;

/** [5, C]: Σg·x̂, Σg, Σh·x̂, Σh, Σh·g per channel, in one pass over x, g and h. */
export function batchNormBackwardSumsKernel(x: Tensor, g: Tensor, h: Tensor, eps: number): Tensor {
  const op = "batchNormBackwardSums";
  const geo = geometry(op, x);
  checkLikeX(op, "g", g, x);
  checkLikeX(op, "h", h, x);
  const stats = statsOf(op, x, geo);
  const partials = engine.allocate(op, [geo.channels * geo.chunks * CROSS_SUMS]);
  const sums = engine.allocate(op, [CROSS_SUMS, geo.channels]);
  const p = params(partialPass(geo), eps);
  launchFlat("batch_norm", passEntry("cross_partial", geo), p, [x, g, h, stats, partials], geo.channels * geo.chunks);
  launchFlat("batch_norm", "cross_combine", p, [partials, stats, sums], geo.channels);
  partials.dispose();
  return sums;
}

/**
 * c₀·x̂ + c₁ + Σᵢ c₂₊ᵢ·termsᵢ with per-channel coefficients: rows `first` to `first` + 1 + terms of
 * [rows, C] (one or two terms shaped like x).
 */
export function batchNormMixKernel(x: Tensor, coefficients: Tensor, terms: readonly Tensor[], eps: number, first: number): Tensor {
  const op = "batchNormMix";
  const geo = geometry(op, x);
  if (terms.length < 1 || terms.length > 2) throw new Error(`${op}: takes one or two terms, got ${terms.length}`);
  terms.forEach((t, i) => checkLikeX(op, `term ${i}`, t, x));
  const rows = first + 2 + terms.length;
  const fits = coefficients.rank === 2 && coefficients.shape[0] >= rows && coefficients.shape[1] === geo.channels;
  if (!fits || coefficients.dtype !== "float32" || !Number.isInteger(first) || first < 0) {
    throw new Error(`${op}: coefficients must be float32 [≥ ${rows}, ${geo.channels}] (rows from ${first}), got ${coefficients}`);
  }
  const stats = statsOf(op, x, geo);
  const out = engine.allocate(op, x.shape);
  const [u, v = u] = terms;
  const pass = rowPass(geo);
  const p = params(pass, eps, 0, first);
  launchFlat("batch_norm", passEntry("mix", geo), p, [x, stats, coefficients, u, v, out], rowThreads(pass), { TERMS: terms.length });
  return out;
}

/** Rows of batchNormMixCoefficients' output. */
const MIX_COEFFICIENTS = 8;

/**
 * [8, C]: the double backward's per-channel coefficients (batchNormMixCoefficients) from the five
 * sums [5, C], x's statistics [2, C] and γ [C], for `count` values per channel, in one thread per channel.
 */
export function batchNormMixCoefficientsKernel(sums: Tensor, stats: Tensor, weight: Tensor, eps: number, count: number): Tensor {
  const op = "batchNormMixCoefficients";
  const channels = weight.shape[0];
  checkChannelVector(op, "weight", weight, channels);
  for (const [name, t, rows] of [["sums", sums, CROSS_SUMS], ["stats", stats, 2]] as const) {
    if (t.rank !== 2 || t.shape[0] !== rows || t.shape[1] !== channels || t.dtype !== "float32") {
      throw new Error(`${op}: ${name} must be float32 [${rows}, ${channels}], got ${t}`);
    }
  }
  if (!Number.isInteger(count) || count < 1) throw new Error(`${op}: count must be a positive integer, got ${count}`);
  const out = engine.allocate(op, [MIX_COEFFICIENTS, channels]);
  // n rides in `batch` with planes of one value: the shader's count() is n
  const geo = { batch: count, channels, plane: 1, count, chunks: 1, lanes: 1 };
  launchFlat("batch_norm", "mix_coefficients", params(geo, eps), [sums, stats, weight, out], channels);
  return out;
}
