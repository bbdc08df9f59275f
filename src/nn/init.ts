/**
 * Parameter initialisers matching PyTorch's (torch.nn.init), drawn from the seeded GPU generator,
 * and a stream of seeds so that a model built twice from the same seed has the same weights.
 */
import type { Shape, Tensor } from "../tensor.ts";
import { randomNormal, randomUniform } from "../ops/creation.ts";
import { clip } from "../ops/elementwise.ts";
import { tidy } from "../engine.ts";

/** Derives a sequence of independent seeds from one (SplitMix32 steps, on the host). */
export class SeedStream {
  private state: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`SeedStream: seed must be a non-negative integer, got ${seed}`);
    this.state = (seed ^ Math.floor(seed / 2 ** 32)) >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Where the stream stands, for a checkpoint; `seek` returns to it. */
  position(): number {
    return this.state;
  }

  seek(position: number): void {
    this.state = position >>> 0;
  }
}

/** Makes an initial tensor of `shape` from a seed (the initialisers below all fit). */
export type Initializer = (shape: Shape, seed: number) => Tensor;

/** Input and output fan of a weight [out, in, ...kernel] (linear: [out, in]), as torch computes them. */
export function fans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fans: weight [${shape}] needs rank ≥ 2`);
  const receptive = shape.slice(2).reduce((n, d) => n * d, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export function uniform(shape: Shape, bound: number, seed: number): Tensor {
  return randomUniform(shape, { seed, low: -bound, high: bound });
}

/**
 * PyTorch's default for Conv and Linear weights: kaiming_uniform_(a=√5), i.e. U(±1/√fan_in)
 * (gain √(2/(1+a²)) = √(1/3), bound = gain·√3/√fan_in).
 */
export function kaimingUniformDefault(shape: Shape, seed: number): Tensor {
  return uniform(shape, 1 / Math.sqrt(fans(shape).fanIn), seed);
}

/** kaiming_normal_(mode="fan_out", nonlinearity="relu"): N(0, 2/fan_out), torchvision's ResNet convs. */
export function kaimingNormalFanOut(shape: Shape, seed: number): Tensor {
  return randomNormal(shape, { seed, std: Math.sqrt(2 / fans(shape).fanOut) });
}

/** trunc_normal_(std, a=−2, b=2) as timm calls it: normal values clipped at the absolute bounds ±2. */
export function truncNormal(shape: Shape, std: number, seed: number): Tensor {
  // The bounds are absolute, so at std 0.02 they sit 100σ out: clipping only guards the impossible.
  // tidy frees the unclipped draw and clip's bound constants (outside any scope they would stay live).
  return tidy(() => clip(randomNormal(shape, { seed, std }), -2, 2));
}
