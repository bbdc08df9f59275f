/**
 * The tests' one gradient check: grad() and grad(grad()) of a scalar GPU function f of several
 * tensors against finite differences.
 *   With a float64 `reference` of the same function: f's value; every element of ∇f vs central
 *   differences of the reference; (order 2) H·v, for a seeded direction v over all inputs, vs
 *   mixed central differences of the reference.
 *   Without one (functions with no float64 twin): ∇f·u vs a central difference of f itself along a
 *   seeded direction u, and (order 2) u·∇(v·∇f) vs a central difference of v·∇f along u.
 * Keep inputs small: the reference is evaluated 2 (order 1) or 4 (order 2) times per element.
 */
import * as h from "../../src/mod.ts";
import { AssertionError, assertClose, type Tolerance } from "../harness.ts";
import { seededValues } from "./random.ts";

export interface GradInput {
  shape: number[];
  /** float32-representable, so that f and the reference see the same numbers. */
  values: ArrayLike<number>;
}

export interface CheckGradsOptions {
  /** The highest order checked: 1 (∇f) or 2 (also second derivatives); default 2. */
  order?: 1 | 2;
  /** f in float64, for finite differences without float32 rounding. */
  reference?: (xs: Float64Array[]) => number;
  /** Seeds the directions u and v. */
  seed?: number;
  /** Names the check in failures. */
  name?: string;
  /** With a reference: whether f's value is checked too (default true). */
  value?: boolean;
  /** With a reference: tolerances of ∇f and of H·v; their atol is relative to the largest expected value. */
  first?: Tolerance;
  second?: Tolerance;
  /** Without a reference: the finite-difference step and relative tolerance (defaults 1e-2, 1e-2). */
  eps?: number;
  rtol?: number;
}

const upload = (inputs: GradInput[], values: ArrayLike<number>[] = inputs.map((x) => x.values)) =>
  values.map((v, i) => h.tensor(Float32Array.from(v), inputs[i].shape));

/** Σ_i ⟨a_i, b_i⟩ over the inputs, read back and summed in float64; disposes a. */
async function dot(a: h.Tensor[], b: ArrayLike<number>[]): Promise<number> {
  let total = 0;
  for (const [i, t] of a.entries()) (await t.floats()).forEach((x, e) => (total += x * b[i][e]));
  h.dispose(a);
  return total;
}

/** Σ_i ⟨∇_i f, dir_i⟩ as a GPU scalar. */
function along(f: (xs: h.Tensor[]) => h.Tensor, dir: h.Tensor[]): (xs: h.Tensor[]) => h.Tensor {
  return (xs) => h.grad(f)(xs).map((g, i) => h.sum(h.mul(g, dir[i]))).reduce((a, b) => h.add(a, b));
}

export async function checkGrads(f: (xs: h.Tensor[]) => h.Tensor, inputs: GradInput[], options: CheckGradsOptions = {}): Promise<void> {
  await h.init();
  const { order = 2, reference, seed = 1, name = "checkGrads" } = options;
  const u = inputs.map((x, i) => seededValues(x.values.length, seed + 10 * i));
  const v = inputs.map((x, i) => seededValues(x.values.length, seed + 10 * i + 5));
  if (reference) await againstReference(f, inputs, reference, order, v, name, options);
  else await againstItself(f, inputs, order, u, v, name, options);
}

async function againstReference(
  f: (xs: h.Tensor[]) => h.Tensor,
  inputs: GradInput[],
  reference: (xs: Float64Array[]) => number,
  order: 1 | 2,
  v: Float32Array[],
  name: string,
  { first = { rtol: 2e-3, atol: 2e-4 }, second = { rtol: 5e-3, atol: 1e-3 }, value = true }: CheckGradsOptions,
): Promise<void> {
  const xs = inputs.map((x) => Float64Array.from(x.values));
  if (value) {
    const y = h.tidy(() => f(upload(inputs)));
    assertClose([await y.item()], [reference(xs)], { rtol: 1e-5, atol: 1e-6 }, `${name}: value`);
    y.dispose();
  }
  const scaled = (t: Tolerance, expected: Float64Array[], floor: number): Tolerance => {
    const scale = Math.max(floor, ...expected.map((e) => e.reduce((m, x) => Math.max(m, Math.abs(x)), 0)));
    return { rtol: t.rtol, atol: (t.atol ?? 0) * scale };
  };

  const step1 = 1e-6;
  const expected = xs.map((x, k) =>
    Float64Array.from(x, (_, j) => {
      const plus = xs.map((y) => y.slice());
      const minus = xs.map((y) => y.slice());
      plus[k][j] += step1;
      minus[k][j] -= step1;
      return (reference(plus) - reference(minus)) / (2 * step1);
    })
  );
  const grads = h.tidy(() => h.grad(f)(upload(inputs)));
  const tolerance1 = scaled(first, expected, 1e-3);
  for (const [k, g] of grads.entries()) assertClose(await g.floats(), expected[k], tolerance1, `${name}: ∂f/∂x${k}`);
  h.dispose(grads);
  if (order < 2) return;

  const step2 = 1e-4;
  const at = (k: number, j: number, sj: number, sv: number) => {
    const moved = xs.map((y, i) => Float64Array.from(y, (val, e) => val + sv * step2 * v[i][e]));
    moved[k][j] += sj * step2;
    return reference(moved);
  };
  const expectedHv = xs.map((x, k) =>
    Float64Array.from(x, (_, j) => (at(k, j, 1, 1) - at(k, j, 1, -1) - at(k, j, -1, 1) + at(k, j, -1, -1)) / (4 * step2 * step2))
  );
  const hv = h.tidy(() => h.grad(along(f, upload(inputs, v)))(upload(inputs)));
  const tolerance2 = scaled(second, expectedHv, 1e-2);
  for (const [k, g] of hv.entries()) assertClose(await g.floats(), expectedHv[k], tolerance2, `${name}: (H·v)/x${k}`);
  h.dispose(hv);
}

async function againstItself(
  f: (xs: h.Tensor[]) => h.Tensor,
  inputs: GradInput[],
  order: 1 | 2,
  u: Float32Array[],
  v: Float32Array[],
  name: string,
  { eps = 1e-2, rtol = 1e-2 }: CheckGradsOptions,
): Promise<void> {
  const moved = (step: number) => inputs.map((x, i) => Float32Array.from(x.values, (t, e) => t + step * u[i][e]));
  const near = (what: string, analytic: number, numeric: number) => {
    if (!(Math.abs(analytic - numeric) <= rtol * Math.max(Math.abs(analytic), Math.abs(numeric)) + 1e-4)) {
      throw new AssertionError(`${name}: ${what}: analytic ${analytic} vs finite difference ${numeric} (rtol ${rtol})`);
    }
  };
  const valueAt = async (values: ArrayLike<number>[]) => {
    const y = h.tidy(() => f(upload(inputs, values)));
    const result = await y.item();
    y.dispose();
    return result;
  };
  const firstAnalytic = await dot(h.tidy(() => h.grad(f)(upload(inputs))), u);
  const firstNumeric = (await valueAt(moved(eps)) - await valueAt(moved(-eps))) / (2 * eps);
  near("first derivative ∇f·u", firstAnalytic, firstNumeric);
  if (order < 2) return;

  const alongV = (xs: h.Tensor[]) => along(f, upload(inputs, v))(xs);
  const secondAnalytic = await dot(h.tidy(() => h.grad(alongV)(upload(inputs))), u);
  const gradAlongV = async (values: ArrayLike<number>[]) => await dot(h.tidy(() => h.grad(f)(upload(inputs, values))), v);
  const secondNumeric = (await gradAlongV(moved(eps)) - await gradAlongV(moved(-eps))) / (2 * eps);
  near("second derivative u·∇(v·∇f)", secondAnalytic, secondNumeric);
}
