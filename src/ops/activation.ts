/** Activation functions composed from primitives, so every derivative order follows from the rules. */
import type { Tensor } from "../tensor.ts";
import { add, erf, mul, tanh } from "./elementwise.ts";

/** Exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)), as torch.nn.GELU() and timm's ViT use. */
export function gelu(x: Tensor): Tensor {
  return mul(mul(x, 0.5), add(1, erf(mul(x, Math.SQRT1_2))));
}

/** The tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))), torch's GELU(approximate="tanh"). */
export function geluTanh(x: Tensor): Tensor {
  const cubic = add(x, mul(mul(mul(x, x), x), 0.044715));
  return mul(mul(x, 0.5), add(1, tanh(mul(cubic, Math.sqrt(2 / Math.PI)))));
}
