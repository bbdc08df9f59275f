/**
 * Launchers of the fused batch-norm kernels (shaders/batch_norm.wgsl) for x [N, C, ...]
 * normalised per channel over the other axes: statistics, the normalisation, and the two halves
 * of its backward pass (the input's cotangent, and the per-channel sums that are γ's and β's).
 */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { shapeSize, type Tensor } from "../../tensor.ts";
import { launchFlat } from "./launch.ts";

/** Values per thread the partial passes aim for. */
const VALUES_PER_THREAD = 64;
/** At most this many partials per channel (one thread merges them). */
const MAX_CHUNKS = 4096;
/** llvmpipe ends an invocation's loops after 65535 iterations; stats_partial loops twice. */
const MAX_THREAD_LOOP = 32767;

interface Geometry {
  batch: number;
  channels: number;
  plane: number;
  /** Values per channel. */
  count: number;
  /** Threads per channel in the partial passes. */
  chunks: number;
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
  return { batch, channels, plane, count, chunks };
}

function params({ batch, channels, plane, chunks }: Geometry, eps: number, varOffset = 0): Uint32Array {
  return new Params().u32(batch).u32(channels).u32(plane).u32(chunks).u32(varOffset).f32(eps).build();
}

function checkChannelVector(op: string, name: string, t: Tensor, channels: number): void {
  if (t.rank !== 1 || t.shape[0] !== channels || t.dtype !== "float32") {
    throw new Error(`${op}: ${name} must be float32 [${channels}], got ${t}`);
  }
}

function statsOf(op: string, x: Tensor, geo: Geometry, eps: number): Tensor {
  const partials = engine.allocate(op, [geo.channels * geo.chunks * 3]);
  const stats = engine.allocate(op, [2, geo.channels]);
  const p = params(geo, eps);
  launchFlat("batch_norm", "stats_partial", p, [x, partials], geo.channels * geo.chunks);
  launchFlat("batch_norm", "stats_combine", p, [partials, stats], geo.channels);
  partials.dispose();
  return stats;
}

/** [2, C]: each channel's mean, then its biased (÷ n) variance. */
export function batchNormStatsKernel(x: Tensor): Tensor {
  return statsOf("batchNormStats", x, geometry("batchNormStats", x), 0);
}

/** RELU for the normalisation kernel: its output's ReLU in the same pass. */
const reluConstants = (relu: boolean) => ({ RELU: relu ? 1 : 0 });

/** Training: y = (x − μ)·rsqrt(σ² + eps)·weight + bias with the batch's own statistics (`relu`: max(y, 0)). */
export function batchNormKernel(x: Tensor, weight: Tensor, bias: Tensor, eps: number, relu = false): Tensor {
  const op = relu ? "batchNormRelu" : "batchNorm";
  const geo = geometry(op, x);
  checkChannelVector(op, "weight", weight, geo.channels);
  checkChannelVector(op, "bias", bias, geo.channels);
  const stats = statsOf(op, x, geo, eps);
  const y = engine.allocate(op, x.shape);
  launchFlat("batch_norm", "normalize", params(geo, eps, geo.channels), [x, stats, stats, weight, bias, y], x.size, reluConstants(relu));
  stats.dispose();
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
  launchFlat("batch_norm", "normalize", params(geo, eps), [x, mean, variance, weight, bias, y], x.size, reluConstants(relu));
  return y;
}

/** Statistics and [Σg·x̂, Σg] per channel, both [2, C]. */
function gradientSums(op: string, x: Tensor, g: Tensor, geo: Geometry, eps: number): { stats: Tensor; sums: Tensor } {
  if (g.dtype !== "float32" || g.size !== x.size || g.rank !== x.rank || g.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`${op}: the cotangent ${g} must have x's shape ${x}`);
  }
  const stats = statsOf(op, x, geo, eps);
  const partials = engine.allocate(op, [geo.channels * geo.chunks * 2]);
  const sums = engine.allocate(op, [2, geo.channels]);
  const p = params(geo, eps);
  launchFlat("batch_norm", "grad_partial", p, [x, g, stats, partials], geo.channels * geo.chunks);
  launchFlat("batch_norm", "grad_combine", p, [partials, stats, sums], geo.channels);
  partials.dispose();
  return { stats, sums };
}

/** [2, C]: Σ g·x̂ and Σ g per channel (the cotangents of the training normalisation's weight and bias). */
export function batchNormAffineGradKernel(x: Tensor, g: Tensor, eps: number): Tensor {
  const { stats, sums } = gradientSums("batchNormAffineGrad", x, g, geometry("batchNormAffineGrad", x), eps);
  stats.dispose();
  return sums;
}

/** The training normalisation's input cotangent: weight·r·(g − mean(g) − x̂·mean(g·x̂)). */
export function batchNormBackwardKernel(x: Tensor, weight: Tensor, g: Tensor, eps: number): Tensor {
  const op = "batchNormBackward";
  const geo = geometry(op, x);
  checkChannelVector(op, "weight", weight, geo.channels);
  const { stats, sums } = gradientSums(op, x, g, geo, eps);
  const dx = engine.allocate(op, x.shape);
  launchFlat("batch_norm", "backward_input", params(geo, eps), [x, g, stats, sums, weight, dx], x.size);
  stats.dispose();
  sums.dispose();
  return dx;
}
