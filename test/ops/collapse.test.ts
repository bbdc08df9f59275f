/**
 * Axis collapsing of the strided kernels: the merged shapes, and the broadcast, where and
 * strided-copy results at shapes where merging happens (scalar, per-channel, permuted, sliced).
 */
import { assertClose, assertEquals, test } from "../harness.ts";
import { collapseDims } from "../../src/ops/kernels/collapse.ts";
import { add, broadcastTo, init, mul, permute, slice, tensor, where } from "../../src/mod.ts";

await init();

test("collapseDims merges contiguous and jointly broadcast axes, drops size-1 axes", () => {
  // [2,3,4,5] + scalar: one axis.
  assertEquals(collapseDims([2, 3, 4, 5], [[60, 20, 5, 1], [0, 0, 0, 0]]), { shape: [120], strides: [[1], [0]] });
  // [N,C,H,W] · [1,C,1,1]: N | C | H·W.
  assertEquals(
    collapseDims([2, 3, 4, 5], [[60, 20, 5, 1], [0, 1, 0, 0]]),
    { shape: [2, 3, 20], strides: [[60, 20, 1], [0, 1, 0]] },
  );
  // A permutation [0,2,1] of [2,3,4] stays rank 3 (nothing is contiguous in both).
  assertEquals(collapseDims([2, 4, 3], [[12, 1, 4]]), { shape: [2, 4, 3], strides: [[12, 1, 4]] });
  // Size-1 axes vanish; all of them leave rank 0.
  assertEquals(collapseDims([1, 6, 1], [[6, 1, 1]]), { shape: [6], strides: [[1]] });
  assertEquals(collapseDims([1, 1], [[1, 1], [0, 0]]), { shape: [], strides: [[], []] });
});

function hostValues(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 3);
}

test("broadcast binary ops and where agree with the host after collapsing", async () => {
  const [n, c, h, w] = [2, 3, 4, 5];
  const xs = hostValues(n * c * h * w, 1);
  const per = hostValues(c, 2);
  const x = tensor(xs, [n, c, h, w]);
  const channel = tensor(per, [1, c, 1, 1]);
  const expectedSum = xs.map((v, i) => v + per[Math.floor(i / (h * w)) % c]);
  assertClose(await add(x, channel).floats(), expectedSum, {}, "per-channel add");
  assertClose(await mul(x, 0.5).floats(), xs.map((v) => v * 0.5), {}, "scalar mul");
  const row = hostValues(w, 3);
  const picked = where(tensor(row.map((v) => (v > 0 ? 1 : 0)), [w]), x, channel);
  const expectedWhere = xs.map((v, i) => (row[i % w] > 0 ? v : per[Math.floor(i / (h * w)) % c]));
  assertClose(await picked.floats(), expectedWhere, {}, "where");
});

test("permute and slice copies agree with the host after collapsing", async () => {
  const [a, b, c] = [2, 3, 4];
  const xs = hostValues(a * b * c, 4);
  const x = tensor(xs, [a, b, c]);
  const permuted = await permute(x, [1, 0, 2]).floats();
  const expectedPermuted = new Float32Array(a * b * c);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < c; k++) {
    expectedPermuted[(j * a + i) * c + k] = xs[(i * b + j) * c + k];
  }
  assertClose(permuted, expectedPermuted, { rtol: 0, atol: 0 }, "permute");
  const sliced = await slice(x, [1, 1, 0], [1, 2, 4]).floats();
  assertClose(sliced, xs.slice((1 * b + 1) * c, (1 * b + 3) * c), { rtol: 0, atol: 0 }, "slice of whole rows");
});

test("one value broadcast or sliced out is copied from its single address", async () => {
  const xs = hostValues(24, 5);
  const x = tensor(xs, [2, 3, 4]);
  assertClose(await broadcastTo(slice(x, [1, 2, 3], [1, 1, 1]), [3, 1, 5, 2]).floats(), new Float32Array(30).fill(xs[23]), { rtol: 0, atol: 0 }, "expand of one value");
  assertClose(await slice(x, [0, 1, 2], [1, 1, 1]).floats(), [xs[6]], { rtol: 0, atol: 0 }, "slice of one value");
  assertClose(await broadcastTo(tensor([7], []), [4, 3]).floats(), new Float32Array(12).fill(7), { rtol: 0, atol: 0 }, "expand of a scalar");
});

test("strided coordinates stay exact just below 2^24 elements, where the kernels divide in floats", async () => {
  // 4099 · 4093 = 2^24 − 9: every value an exact float32 integer, every coordinate at its widest.
  const [rows, cols] = [4099, 4093];
  const x = tensor(Float32Array.from({ length: rows * cols }, (_, i) => i), [rows, cols]);
  const transposed = permute(x, [1, 0]);
  const values = await transposed.floats();
  x.dispose();
  transposed.dispose();
  let wrong = 0;
  for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) if (values[j * rows + i] !== i * cols + j) wrong++;
  assertEquals(wrong, 0);
});
