/** Fully connected layer, torch.nn.Linear: weight [out, in], bias [out]. */
import type { Tensor } from "../tensor.ts";
import { linear } from "../ops/linear.ts";
import { type Initializer, kaimingUniformDefault, SeedStream, uniform } from "./init.ts";
import { Module } from "./module.ts";
import type { Parameter } from "./parameter.ts";

export interface LinearOptions {
  bias?: boolean;
  /** Seed of the initialisers. */
  seed?: number;
  /** Default: PyTorch's kaiming_uniform_(a=√5), i.e. U(±1/√in). */
  weightInit?: Initializer;
  /** Default: PyTorch's U(±1/√in). */
  biasInit?: Initializer;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    const { bias = true, seed = 0, weightInit = kaimingUniformDefault } = options;
    const biasInit = options.biasInit ?? ((shape, s) => uniform(shape, 1 / Math.sqrt(inFeatures), s));
    const seeds = new SeedStream(seed);
    this.weight = this.registerParameter("weight", weightInit([outFeatures, inFeatures], seeds.next()));
    this.bias = bias ? this.registerParameter("bias", biasInit([outFeatures], seeds.next())) : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight.value, this.bias?.value);
  }
}
