/** Gradient clipping by global norm, on the GPU (no read-back inside the step). */
import type { Tensor } from "../tensor.ts";
import { add, div, minimum, mul, sqrt } from "../ops/elementwise.ts";
import { sumSquares } from "../ops/reduce.ts";

/** Scales every gradient by min(1, maxNorm / (‖g‖ + 1e-6)), as torch.nn.utils.clip_grad_norm_. */
export function clipGradNorm(grads: Record<string, Tensor>, maxNorm: number): { grads: Record<string, Tensor>; norm: Tensor } {
  const squares = Object.values(grads).map((g) => sumSquares(g));
  const norm = sqrt(squares.reduce((a, b) => add(a, b)));
  const scale = minimum(div(maxNorm, add(norm, 1e-6)), 1);
  const clipped = Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, mul(g, scale)]));
  return { grads: clipped, norm };
}
