/** torch.nn.LayerNorm over the last axis: weight 1, bias 0, not weight-decayed. */
import type { Tensor } from "../tensor.ts";
import { ones, zeros } from "../ops/creation.ts";
import { layerNorm } from "../ops/layer_norm.ts";
import { Module } from "./module.ts";
import type { Parameter } from "./parameter.ts";

export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  /** @param eps torch's default 1e-5; timm's ViT uses 1e-6. */
  constructor(readonly features: number, readonly eps = 1e-5) {
    super();
    this.weight = this.registerParameter("weight", ones([features]));
    this.bias = this.registerParameter("bias", zeros([features]));
  }

  /** Normalisation parameters are not weight-decayed. */
  override noWeightDecay(): string[] {
    return ["weight", "bias"];
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, [this.features], { weight: this.weight.value, bias: this.bias.value, eps: this.eps });
  }
}
