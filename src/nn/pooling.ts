/** Pooling layers over NCHW inputs: torch.nn.MaxPool2d and torch.nn.AdaptiveAvgPool2d. */
import type { Tensor } from "../tensor.ts";
import { adaptiveAvgPool2d, maxPool2d } from "../ops/pool.ts";
import type { Padding, SpatialPair } from "../ops/conv.ts";
import { Module } from "./module.ts";

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: SpatialPair, readonly stride: SpatialPair = kernelSize, readonly padding: Padding = 0) {
    super();
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding });
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: SpatialPair) {
    super();
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}
