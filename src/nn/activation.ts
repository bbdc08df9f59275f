/** Parameter-free activation layers. */
import type { Tensor } from "../tensor.ts";
import { relu } from "../ops/elementwise.ts";
import { gelu } from "../ops/activation.ts";
import { Module } from "./module.ts";

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** Exact (erf) GELU, torch.nn.GELU(). */
export class GELU extends Module {
  forward(x: Tensor): Tensor {
    return gelu(x);
  }
}
