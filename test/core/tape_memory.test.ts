/**
 * What a gradient costs in memory: a tape keeps only the tensors its rules read, the backward pass
 * lets go of each node (and of each cotangent) once it has used it, and gradients of gradients do
 * the same. Each test measures the pool's peak above its baseline in units of one activation.
 */
import * as h from "../../src/mod.ts";
import { assert, assertEquals, test } from "../harness.ts";

const SIZE = 1 << 16;
const ACTIVATION = SIZE * 4;
const DEPTH = 24;

/** The pool's peak while `fn` runs, above the bytes live before, in activations; checks nothing leaks. */
async function peakActivations(fn: () => h.Tensor): Promise<number> {
  const backend = await h.init();
  await backend.sync();
  const before = h.memory().liveBytes;
  backend.pool.resetPeak();
  const result = h.tidy(fn);
  const peak = h.memory().peakBytes - before;
  assert(Number.isFinite((await result.data())[0]), "the gradient is finite");
  result.dispose();
  assertEquals(h.memory().liveBytes, before, "live bytes after the gradient");
  return peak / ACTIVATION;
}

/**
 * DEPTH steps of x ↦ relu(x + 1)·0.5 + x, then a sum of squares. Each step is its own scope (as a
 * layer may be), so what stays alive is what the tape keeps: of a step's four activations, its
 * rules read only relu's output.
 */
function deep(x: h.Tensor): h.Tensor {
  let y = x;
  for (let i = 0; i < DEPTH; i++) {
    const input = y;
    y = h.tidy(() => h.add(h.mul(h.relu(h.add(input, 1)), 0.5), input));
  }
  return h.sum(h.mul(y, y));
}

test("grad keeps only what the rules read and frees cotangents as the backward passes", async () => {
  await h.init();
  const x = h.randomNormal([SIZE], { seed: 1 });
  // The forward leaves each step's output (until the function returns) and relu's output (for the
  // tape): 2·DEPTH. A tape holding every input and output, and every cotangent to the end, peaks
  // above 7·DEPTH.
  const peak = await peakActivations(() => h.sum(h.grad(deep)(x)));
  assert(peak < 3 * DEPTH, `peak ${peak.toFixed(1)} activations for ${DEPTH} steps`);
  x.dispose();
});

test("a gradient of a gradient lets go of the inner backward's tensors as the outer one passes them", async () => {
  await h.init();
  const x = h.randomNormal([SIZE], { seed: 2 });
  const gradientNorm = (v: h.Tensor) => {
    const g = h.grad(deep)(v);
    return h.sum(h.mul(g, g));
  };
  // The outer rules need relu's output and the inner cotangent of each step: about 2·DEPTH.
  // Holding every intermediate and every cotangent of both passes to the end peaks above 15·DEPTH.
  const peak = await peakActivations(() => h.sum(h.grad(gradientNorm)(x)));
  assert(peak < 4 * DEPTH, `peak ${peak.toFixed(1)} activations for ${DEPTH} steps`);
  x.dispose();
});
