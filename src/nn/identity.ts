/** torch.nn.Identity: a placeholder layer (e.g. a removed classifier head). */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
