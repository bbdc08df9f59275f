/** torch.nn.Dropout: active in training mode only, with a fresh seeded mask on every call. */
import type { Tensor } from "../tensor.ts";
import { dropout } from "../ops/dropout.ts";
import { SeedStream } from "./init.ts";
import { Module } from "./module.ts";

export class Dropout extends Module {
  /** The per-call mask seeds; a checkpoint saves its position. */
  readonly seeds: SeedStream;

  /** @param seed starts the stream of per-call mask seeds, so a run is reproducible. */
  constructor(readonly rate = 0.5, seed = 0) {
    super();
    if (!(rate >= 0 && rate <= 1)) throw new Error(`Dropout: rate must lie in [0, 1], got ${rate}`);
    this.seeds = new SeedStream(seed);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.rate === 0) return x;
    return dropout(x, { rate: this.rate, seed: this.seeds.next(), training: true });
  }
}
