/**
 * Directional finite-difference checks of first and second derivatives of a scalar function of
 * one tensor, for op tests: with seeded directions u and v,
 *   first order:  ∇f·u           vs (f(θ + εu) − f(θ − εu)) / 2ε
 *   second order: u·∇(v·∇f)      from grad(grad(f))  vs  (v·∇f(θ + εu) − v·∇f(θ − εu)) / 2ε
 * Host sums run in float64; tolerances are for float32 GPU values with well-conditioned inputs.
 */
import { grad, mul, sum, tensor, type Tensor, tidy } from "../../src/mod.ts";
import { AssertionError } from "../harness.ts";
import { seededValues } from "../reference_conv.ts";

export interface DirectionalCheck {
  f: (theta: Tensor) => Tensor;
  theta: Float32Array;
  shape: number[];
  seed: number;
  eps?: number;
  rtol?: number;
}

function shifted(theta: Float32Array, u: Float32Array, step: number): Float32Array {
  return theta.map((t, i) => t + step * u[i]);
}

async function dot(t: Tensor, v: Float32Array): Promise<number> {
  const values = await t.floats();
  t.dispose();
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * v[i];
  return s;
}

function assertNear(name: string, analytic: number, numeric: number, rtol: number): void {
  const tolerance = rtol * Math.max(Math.abs(analytic), Math.abs(numeric)) + 1e-4;
  if (!(Math.abs(analytic - numeric) <= tolerance)) {
    throw new AssertionError(`${name}: analytic ${analytic} vs finite difference ${numeric} (rtol ${rtol})`);
  }
}

/** Checks the first and second directional derivatives of f at θ. */
export async function checkDirectionalDerivatives({ f, theta, shape, seed, eps = 1e-2, rtol = 1e-2 }: DirectionalCheck): Promise<void> {
  const u = seededValues(theta.length, seed);
  const v = seededValues(theta.length, seed + 1);
  const uT = tensor(u, shape);
  const vT = tensor(v, shape);
  const at = (values: Float32Array) => tensor(values, shape);
  try {
    const value = async (values: Float32Array) => await dot(tidy(() => f(at(values))), Float32Array.of(1));
    const firstAnalytic = await dot(tidy(() => grad(f)(at(theta))), u);
    const firstNumeric = (await value(shifted(theta, u, eps)) - await value(shifted(theta, u, -eps))) / (2 * eps);
    assertNear("first derivative ∇f·u", firstAnalytic, firstNumeric, rtol);

    const alongV = (t: Tensor) => sum(mul(grad(f)(t), vT));
    const secondAnalytic = await dot(tidy(() => grad(alongV)(at(theta))), u);
    const gradAlongV = async (values: Float32Array) => await dot(tidy(() => grad(f)(at(values))), v);
    const secondNumeric = (await gradAlongV(shifted(theta, u, eps)) - await gradAlongV(shifted(theta, u, -eps))) / (2 * eps);
    assertNear("second derivative u·∇(v·∇f)", secondAnalytic, secondNumeric, rtol);
  } finally {
    uT.dispose();
    vT.dispose();
  }
}
