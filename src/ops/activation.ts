/** Activation functions: GELU as primitives, its tanh approximation composed; every derivative order follows from the rules. */
import type { Tensor } from "../tensor.ts";
import { add, exp, geluSecondGrad, mul, sub, tanh } from "./elementwise.ts";
import { apply } from "./apply.ts";
import { geluSecondGradProductFits } from "./kernels/gelu.ts";

/**
 * Exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)), as torch.nn.GELU() and timm's ViT use: one kernel (the
 * primitive `gelu`), whose gradient is the primitive `geluGrad`.
 */
export function gelu(x: Tensor): Tensor {
  return apply("gelu", [x], {});
}

/** gelu‴(x) = φ(x)·(x³ − 4x), φ the standard normal density: geluSecondGrad's derivative in x, in public ops. */
export function geluThirdDerivative(x: Tensor): Tensor {
  const squared = mul(x, x);
  return mul(mul(exp(mul(squared, -0.5)), mul(x, sub(squared, 4))), 1 / Math.sqrt(2 * Math.PI));
}

/**
 * h·g·gelu″(x) = geluSecondGrad(h·g, x), the x-part of geluGrad(g, x)'s gradient for a cotangent h:
 * one kernel (the primitive `geluSecondGradProduct`, which also writes the g-part h·gelu′(x) for the
 * geluGrad that follows it) where h, g and x are float32 of one shape with a size that is a multiple
 * of 4, else the product and geluSecondGrad. Same bits either way.
 */
export function geluSecondGradProduct(h: Tensor, g: Tensor, x: Tensor): Tensor {
  if (geluSecondGradProductFits(h, g, x)) return apply("geluSecondGradProduct", [h, g, x], {});
  return geluSecondGrad(mul(h, g), x);
}

/** The tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))), torch's GELU(approximate="tanh"). */
export function geluTanh(x: Tensor): Tensor {
  const cubic = add(x, mul(mul(mul(x, x), x), 0.044715));
  return mul(mul(x, 0.5), add(1, tanh(mul(cubic, Math.sqrt(2 / Math.PI)))));
}
