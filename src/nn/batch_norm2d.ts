/**
 * torch.nn.BatchNorm2d. Training mode normalises with the batch statistics and then moves the
 * running ones towards them (momentum 0.1, unbiased variance, as PyTorch), outside autodiff;
 * evaluation mode normalises with the running statistics. Buffers: running_mean, running_var,
 * num_batches_tracked (int32 here, int64 in PyTorch; loading converts).
 */
import type { Tensor } from "../tensor.ts";
import { ones, scalar, zeros } from "../ops/creation.ts";
import { add, mul } from "../ops/elementwise.ts";
import { cast } from "../ops/indexing.ts";
import { stopGradient } from "../ops/movement.ts";
import { batchNorm } from "../ops/batch_norm.ts";
import { Module } from "./module.ts";
import type { Parameter } from "./parameter.ts";
import type { Buffer } from "./buffer.ts";

export interface BatchNorm2dOptions {
  eps?: number;
  /** Weight of the new batch statistic in the running average. */
  momentum?: number;
}

export class BatchNorm2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly runningMean: Buffer;
  readonly runningVar: Buffer;
  readonly numBatchesTracked: Buffer;
  readonly eps: number;
  readonly momentum: number;

  constructor(readonly channels: number, { eps = 1e-5, momentum = 0.1 }: BatchNorm2dOptions = {}) {
    super();
    this.eps = eps;
    this.momentum = momentum;
    this.weight = this.registerParameter("weight", ones([channels]));
    this.bias = this.registerParameter("bias", zeros([channels]));
    this.runningMean = this.registerBuffer("running_mean", zeros([channels]));
    this.runningVar = this.registerBuffer("running_var", ones([channels]));
    this.numBatchesTracked = this.registerBuffer("num_batches_tracked", scalar(0, "int32"));
  }

  /** Normalisation parameters are not weight-decayed. */
  override noWeightDecay(): string[] {
    return ["weight", "bias"];
  }

  forward(x: Tensor): Tensor {
    return this.normalize(x, false);
  }

  /** relu(forward(x)), the ReLU fused into the normalisation's kernel where the kernel policy says so. */
  forwardRelu(x: Tensor): Tensor {
    return this.normalize(x, true);
  }

  private normalize(x: Tensor, relu: boolean): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.channels) {
      throw new Error(`BatchNorm2d(${this.channels}): input must be [N, ${this.channels}, H, W], got [${x.shape}]`);
    }
    const { output, batchMean, batchVarianceUnbiased } = batchNorm(x, {
      weight: this.weight.value,
      bias: this.bias.value,
      eps: this.eps,
      training: this.training,
      runningMean: this.runningMean.value,
      runningVar: this.runningVar.value,
      relu,
    });
    if (this.training) {
      // The running statistics are bookkeeping, not part of the function being differentiated.
      const m = this.momentum;
      this.runningMean.assign(add(mul(this.runningMean.value, 1 - m), mul(stopGradient(batchMean!), m)));
      this.runningVar.assign(add(mul(this.runningVar.value, 1 - m), mul(stopGradient(batchVarianceUnbiased!), m)));
      this.numBatchesTracked.assign(cast(add(cast(this.numBatchesTracked.value, "float32"), 1), "int32"));
    }
    return output;
  }
}
