/** torch.nn.Conv2d: NCHW input, weight [out, in/groups, kh, kw], optional bias [out]. */
import type { Tensor } from "../tensor.ts";
import { conv2d, type Padding, type SpatialPair, spatialPair } from "../ops/conv.ts";
import { fans, type Initializer, kaimingUniformDefault, SeedStream, uniform } from "./init.ts";
import { Module } from "./module.ts";
import type { Parameter } from "./parameter.ts";

export interface Conv2dLayerOptions {
  stride?: SpatialPair;
  /** A number, [h, w], [[top, bottom], [left, right]], "SAME" (TensorFlow's) or "VALID". */
  padding?: Padding;
  dilation?: SpatialPair;
  groups?: number;
  bias?: boolean;
  /** Seed of the initialisers. */
  seed?: number;
  /** Default: PyTorch's kaiming_uniform_(a=√5), i.e. U(±1/√fan_in). */
  weightInit?: Initializer;
  /** Default: PyTorch's U(±1/√fan_in). */
  biasInit?: Initializer;
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  private readonly options: Omit<Conv2dLayerOptions, "bias" | "seed" | "weightInit" | "biasInit">;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: SpatialPair, options: Conv2dLayerOptions = {}) {
    super();
    const { bias = true, seed = 0, groups = 1, weightInit = kaimingUniformDefault, biasInit, ...geometry } = options;
    this.kernelSize = spatialPair("Conv2d", "kernelSize", kernelSize);
    if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new Error(`Conv2d: groups ${groups} must divide both ${inChannels} input and ${outChannels} output channels`);
    }
    this.options = { ...geometry, groups };
    const seeds = new SeedStream(seed);
    const shape = [outChannels, inChannels / groups, ...this.kernelSize];
    this.weight = this.registerParameter("weight", weightInit(shape, seeds.next()));
    const defaultBias: Initializer = (s, seed) => uniform(s, 1 / Math.sqrt(fans(shape).fanIn), seed);
    this.bias = bias ? this.registerParameter("bias", (biasInit ?? defaultBias)([outChannels], seeds.next())) : null;
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight.value, { ...this.options, bias: this.bias?.value });
  }
}
