// erf in float32 and the normal distribution built on it (GELU and its derivative), shared by the
// unary and binary kernels.
// Abramowitz & Stegun 7.1.26 is too coarse near 0; this is the Numerical Recipes erfc
// Chebyshev fit (fractional error < 1.2e-7 everywhere).
fn erf_f32(v: f32) -> f32 {
  let z = abs(v);
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277))))))));
  let erfc = t * exp(poly);
  return select(erfc - 1.0, 1.0 - erfc, v >= 0.0);
}

const SQRT1_2: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;

// x·Φ(x), in the composed form's order: (x·½)·(1 + erf(x·√½)).
fn gelu_f32(v: f32) -> f32 {
  return (v * 0.5) * (1.0 + erf_f32(v * SQRT1_2));
}

// d/dx x·Φ(x) = Φ(x) + x·φ(x).
fn gelu_slope_f32(v: f32) -> f32 {
  return 0.5 * (1.0 + erf_f32(v * SQRT1_2)) + v * INV_SQRT_2PI * exp(-0.5 * v * v);
}

// d²/dx² x·Φ(x) = φ(x)·(2 − x²).
fn gelu_curvature_f32(v: f32) -> f32 {
  return INV_SQRT_2PI * exp(-0.5 * v * v) * (2.0 - v * v);
}
