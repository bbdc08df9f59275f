/**
 * Batch normalisation over every axis but the channel axis 1 (NCHW, or [N, C]), two ways with
 * the same gradients of every order, cross-sample terms included:
 *   fused:    the batch-norm primitives (batch_norm_primitives.ts): statistics and normalisation
 *             in two kernels, the backward in fused kernels whose own gradient is composed;
 *   composed: moments, subtract, rsqrt, multiply — the reference the fused path is tested against.
 */
import type { Tensor } from "../tensor.ts";
import { engine } from "../engine.ts";
import type { BatchNormVariant } from "../backend/kernel_policy.ts";
import { add, mul, relu, rsqrt, sub } from "./elementwise.ts";
import { ones, zeros } from "./creation.ts";
import { reshape } from "./movement.ts";
import { moments } from "./reduce.ts";
import { shapeString } from "./shape.ts";
import { fusedBatchNormFits } from "./kernels/batch_norm.ts";
import { batchNormEval, batchNormStats, batchNormTrain, channelRow } from "./batch_norm_primitives.ts";
import { batchNormEvalRelu, batchNormTrainRelu, reluFused } from "./fused_relu.ts";

export type BatchNormImplementation = BatchNormVariant;

export interface BatchNormOptions {
  /** Per-channel scale γ [C]. */
  weight?: Tensor;
  /** Per-channel shift β [C]. */
  bias?: Tensor;
  /** Added to the variance before the square root; PyTorch's default 1e-5. */
  eps?: number;
  /** true: normalise with the batch statistics; false: with runningMean / runningVar. */
  training: boolean;
  /** [C]; required when not training. */
  runningMean?: Tensor;
  /** [C]; required when not training. */
  runningVar?: Tensor;
  /**
   * Default: the kernel policy's choice (`backend.kernels.variants.batchNorm`, "fused" unless set
   * otherwise); composed past the fused kernels' 134 M values per channel.
   */
  implementation?: BatchNormImplementation;
  /** Apply ReLU to the output: in the fused kernel when the policy's `reluFusion` is "fused" (src/ops/fused_relu.ts). */
  relu?: boolean;
}

export interface BatchNormResult {
  output: Tensor;
  /** Training only: the batch mean [C], for the running-mean update. */
  batchMean?: Tensor;
  /** Training only: the batch variance [C] with Bessel's correction (÷ count − 1), for the running-variance update. */
  batchVarianceUnbiased?: Tensor;
}

/** y = (x − μ) / √(σ² + eps) · γ + β with per-channel μ, σ² (population variance in training). */
export function batchNorm(x: Tensor, options: BatchNormOptions): BatchNormResult {
  const {
    weight, bias, eps = 1e-5, training, runningMean, runningVar, relu: withRelu = false,
    implementation = fusedBatchNormFits(x) ? engine.backend.kernels.variants.batchNorm : engine.backend.kernels.fallbacks.batchNorm,
  } = options;
  if (x.rank < 2) throw new Error(`batchNorm: input must be [N, C, ...], got ${shapeString(x.shape)}`);
  const channels = x.shape[1];
  const perChannel = [1, channels, ...x.shape.slice(2).map(() => 1)];
  const asChannel = (t: Tensor, name: string): Tensor => {
    if (t.rank !== 1 || t.shape[0] !== channels) {
      throw new Error(`batchNorm: ${name} must be [${channels}] for input ${shapeString(x.shape)}, got ${shapeString(t.shape)}`);
    }
    return reshape(t, perChannel);
  };
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const count = x.size / channels;
  if (training && count < 2) {
    throw new Error(`batchNorm: training needs more than one value per channel, input is ${shapeString(x.shape)}`);
  }
  if (!training && (!runningMean || !runningVar)) {
    throw new Error(`batchNorm: evaluation mode needs runningMean and runningVar (input ${shapeString(x.shape)})`);
  }
  if (implementation === "fused") {
    const vector = (t: Tensor, name: string) => reshape(asChannel(t, name), [channels]);
    const w = weight ? vector(weight, "weight") : ones([channels]);
    const b = bias ? vector(bias, "bias") : zeros([channels]);
    const fuse = withRelu && reluFused();
    const after = (y: Tensor) => (withRelu && !fuse ? relu(y) : y);
    if (!training) {
      const [mean, variance] = [vector(runningMean!, "runningMean"), vector(runningVar!, "runningVar")];
      return { output: fuse ? batchNormEvalRelu(x, mean, variance, w, b, eps) : after(batchNormEval(x, mean, variance, w, b, eps)) };
    }
    const stats = batchNormStats(x);
    return {
      output: fuse ? batchNormTrainRelu(x, w, b, eps) : after(batchNormTrain(x, w, b, eps)),
      batchMean: channelRow(stats, 0),
      batchVarianceUnbiased: mul(channelRow(stats, 1), count / (count - 1)),
    };
  }
  let normalised: Tensor;
  let result: Omit<BatchNormResult, "output"> = {};
  if (training) {
    const { mean: mu, centred, variance } = moments(x, axes);
    normalised = mul(centred, rsqrt(add(variance, eps)));
    result = {
      batchMean: reshape(mu, [channels]),
      batchVarianceUnbiased: reshape(mul(variance, count / (count - 1)), [channels]),
    };
  } else {
    const inv = rsqrt(add(asChannel(runningVar!, "runningVar"), eps));
    normalised = mul(sub(x, asChannel(runningMean!, "runningMean")), inv);
  }
  let output = weight ? mul(normalised, asChannel(weight, "weight")) : normalised;
  if (bias) output = add(output, asChannel(bias, "bias"));
  return { output: withRelu ? relu(output) : output, ...result };
}
