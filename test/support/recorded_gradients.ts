/**
 * A loss's gradients to second order, with the primitives they ran, checked to leave no GPU memory
 * behind: for tests of how backward() sums cotangents (test/core/cotangent_sum.test.ts,
 * test/ops/matmul_sum.test.ts, test/ops/sum_products.test.ts).
 */
import * as h from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import { assertEquals } from "../harness.ts";

/**
 * ∇loss at `inputs`, then ∇ of Σ (∂loss/∂inputs[second])², as host arrays, and the set of primitives
 * applied meanwhile; asserts that live GPU bytes are back where they were (`label` names the case).
 */
export async function recordedGradients(
  loss: (xs: h.Tensor[]) => h.Tensor,
  inputs: h.Tensor[],
  second: number,
  label: string,
): Promise<{ values: Float32Array[]; primitives: Set<string> }> {
  const before = h.memory().liveBytes;
  const primitives = new Set<string>();
  engine.recorders.push({ maybeRecord: (node) => primitives.add(node.primitive) });
  let grads: h.Tensor[];
  try {
    grads = h.tidy(() => {
      const first = h.grad(loss)(inputs);
      const again = h.grad((xs: h.Tensor[]) => h.sum(h.square(h.grad(loss)(xs)[second])))(inputs);
      return [...first, ...again];
    });
  } finally {
    engine.recorders.pop();
  }
  const values = await Promise.all(grads.map((g) => g.floats()));
  h.dispose(grads);
  assertEquals(h.memory().liveBytes, before, `live bytes after the gradients (${label})`);
  return { values, primitives };
}
