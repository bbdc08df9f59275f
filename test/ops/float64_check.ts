/**
 * Checks a scalar GPU function of several tensors against a float64 reference of the same function:
 *   value:        f(x) vs the reference;
 *   first order:  every element of ∇f from grad() vs central differences of the reference;
 *   second order: v·(H·u) from grad(grad()) vs the reference's mixed central difference
 *                 [f(x+εu+εv) − f(x+εu−εv) − f(x−εu+εv) + f(x−εu−εv)] / 4ε²,
 * with seeded directions u, v over all inputs. Keep inputs small: the first-order check costs two
 * reference evaluations per element.
 */
import * as h from "../../src/mod.ts";
import { AssertionError, maxRelativeError } from "../harness.ts";
import { seededValues } from "../reference_conv.ts";

export interface Float64Check {
  name: string;
  shapes: number[][];
  /** Input values, float32-representable so both sides see the same numbers. */
  inputs: Float64Array[];
  gpu: (xs: h.Tensor[]) => h.Tensor;
  reference: (xs: Float64Array[]) => number;
  seed: number;
  /** Relative tolerance of the gradient and second-order checks (default 1e-3). */
  rtol?: number;
}

function near(name: string, actual: number, expected: number, rtol: number): void {
  if (!(Math.abs(actual - expected) <= rtol * Math.max(Math.abs(expected), 1e-3))) {
    throw new AssertionError(`${name}: got ${actual}, float64 reference ${expected} (rtol ${rtol})`);
  }
}

export async function checkAgainstFloat64({ name, shapes, inputs, gpu, reference, seed, rtol = 1e-3 }: Float64Check): Promise<void> {
  await h.init();
  const upload = () => inputs.map((x, i) => h.tensor(Float32Array.from(x), shapes[i]));
  const u = inputs.map((x, i) => Float64Array.from(seededValues(x.length, seed + i)));
  const v = inputs.map((x, i) => Float64Array.from(seededValues(x.length, seed + 100 + i)));
  const moved = (steps: [Float64Array[], number][]) =>
    inputs.map((x, i) => x.map((value, e) => steps.reduce((acc, [dir, step]) => acc + step * dir[i][e], value)));

  const value = h.tidy(() => gpu(upload()));
  near(`${name}: value`, await value.item(), reference(inputs), 1e-5);
  value.dispose();

  const grads = h.tidy(() => h.grad(gpu)(upload()));
  const eps = 1e-5;
  for (let i = 0; i < inputs.length; i++) {
    const expected = inputs[i].map((_, e) => {
      const plus = inputs.map((x) => x.slice());
      const minus = inputs.map((x) => x.slice());
      plus[i][e] += eps;
      minus[i][e] -= eps;
      return (reference(plus) - reference(minus)) / (2 * eps);
    });
    const error = maxRelativeError(await grads[i].floats(), expected);
    if (!(error <= rtol)) throw new AssertionError(`${name}: ∂f/∂x${i} relative error ${error.toExponential(2)} exceeds ${rtol}`);
  }
  h.dispose(grads);

  const hu = h.tidy(() => {
    const uT = u.map((d, i) => h.tensor(Float32Array.from(d), shapes[i]));
    const alongU = (xs: h.Tensor[]) => h.grad(gpu)(xs).map((g, i) => h.sum(h.mul(g, uT[i]))).reduce((a, b) => h.add(a, b));
    return h.grad(alongU)(upload());
  });
  let analytic = 0;
  for (let i = 0; i < inputs.length; i++) (await hu[i].floats()).forEach((x, e) => (analytic += x * v[i][e]));
  h.dispose(hu);
  const step = 1e-3;
  const numeric = (reference(moved([[u, step], [v, step]])) - reference(moved([[u, step], [v, -step]])) -
    reference(moved([[u, -step], [v, step]])) + reference(moved([[u, -step], [v, -step]]))) / (4 * step * step);
  near(`${name}: second order v·(H·u)`, analytic, numeric, rtol);
}

/** Seeded float32-representable values in [−spread, spread). */
export function seededInputs(count: number, seed: number, spread = 1): Float64Array {
  return Float64Array.from(seededValues(count, seed), (x) => Math.fround(x * spread));
}
