/**
 * A slice that selects the leading elements of its input (begin all zeros, the selection the first
 * prod(size) elements in row-major order) is a view of the input's storage, as reshape is
 * (src/ops/kernels/movement.ts): no dispatch, the input's values, and the buffer freed once the
 * source and every view are gone. A run of consecutive elements further in is a buffer copy, and
 * so is its gradient (zeros, the cotangent, zeros); other slices copy with a strided kernel.
 * Gradients through views are checked to second order by the op-spec rows ("slice prefix ...",
 * test/ops/specs/core.ts).
 */
import { grad, init, memory, mul, pad, profile, slice, sum, type Tensor, tanh, tensor, tidy } from "../../src/mod.ts";
import { assert, assertEquals, assertRejects, test } from "../harness.ts";
import { seededValues } from "../support/random.ts";

await init();

interface Case {
  shape: number[];
  begin: number[];
  size: number[];
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The selected values, read on the host in row-major order: what the copying kernel writes. */
function expectedSlice(values: Float32Array, { shape, begin, size }: Case): number[] {
  const out: number[] = [];
  const visit = (axis: number, offset: number) => {
    if (axis === shape.length) return void out.push(values[offset]);
    const stride = count(shape.slice(axis + 1));
    for (let i = 0; i < size[axis]; i++) visit(axis + 1, offset + (begin[axis] + i) * stride);
  };
  visit(0, 0);
  return out;
}

/** slice(x) under the profiler: its values, its dispatches and whether it shares x's storage. */
async function sliced(c: Case, seed: number) {
  const values = seededValues(count(c.shape), seed);
  const x = tensor(values, c.shape);
  const { result: y, report } = await profile(() => slice(x, c.begin, c.size));
  const result = {
    shared: y.storage === x.storage,
    dispatches: report.dispatches,
    kernels: report.kernels.map((k) => `${k.name} ×${k.dispatches}`),
    shape: [...y.shape],
    values: [...await y.floats()],
    expected: expectedSlice(values, c),
  };
  x.dispose();
  y.dispose();
  return result;
}

const PREFIXES: Case[] = [
  { shape: [10], begin: [0], size: [7] },
  { shape: [5, 6], begin: [0, 0], size: [3, 6] },
  { shape: [4, 3, 5], begin: [0, 0, 0], size: [2, 3, 5] },
  { shape: [2, 3, 4], begin: [0, 0, 0], size: [1, 2, 4] }, // one row of the first axis, part of it
  { shape: [1, 4, 5], begin: [0, 0, 0], size: [1, 2, 5] }, // a size-1 axis outside
  { shape: [3, 2, 4, 5], begin: [0, 0, 0, 0], size: [2, 2, 4, 5] },
  { shape: [2, 2, 3, 4], begin: [0, 0, 0, 0], size: [1, 1, 3, 4] },
  { shape: [2, 3, 4], begin: [0, 0, 0], size: [2, 3, 4] }, // everything
];

// One run of consecutive elements that does not start at x's first: a buffer copy.
const RUNS: Case[] = [
  { shape: [10], begin: [3], size: [7] }, // a suffix
  { shape: [5, 6], begin: [1, 0], size: [3, 6] },
  { shape: [4, 3, 5], begin: [2, 1, 0], size: [1, 2, 5] },
];

const COPIES: Case[] = [
  { shape: [5, 6], begin: [0, 0], size: [3, 4] }, // rows cut short
  { shape: [2, 3, 4], begin: [0, 0, 0], size: [2, 2, 4] }, // leading rows of each outer row
  { shape: [3, 2, 4, 5], begin: [0, 0, 0, 0], size: [3, 2, 4, 1] },
];

const label = (c: Case) => `[${c.shape}] from [${c.begin}] size [${c.size}]`;

test("a slice of a tensor's leading elements shares its storage: no dispatch, the copy's values", async () => {
  for (const [i, c] of PREFIXES.entries()) {
    const r = await sliced(c, i + 1);
    assert(r.shared, `${label(c)}: shares x's storage`);
    assertEquals(r.dispatches, 0, `${label(c)}: dispatches (${r.kernels})`);
    assertEquals(r.shape, c.size, `${label(c)}: shape`);
    assertEquals(r.values, r.expected, `${label(c)}: values`);
  }
});

test("a slice of consecutive elements further in is a buffer copy: its own storage, no dispatch", async () => {
  for (const [i, c] of RUNS.entries()) {
    const r = await sliced(c, i + 10);
    assert(!r.shared, `${label(c)}: has its own storage`);
    assertEquals(r.dispatches, 0, `${label(c)}: dispatches (${r.kernels})`);
    assertEquals(r.values, r.expected, `${label(c)}: values`);
  }
});

test("zero padding that puts x in one run (a slice's gradient) clears the rest of a reused buffer, with no dispatch", async () => {
  // A buffer of the padded size that held other values, back in the pool for the pad to take.
  tensor(new Float32Array(4 * 6).fill(7), [4, 6]).dispose();
  const values = seededValues(2 * 6, 30);
  const x = tensor(values, [2, 6]);
  const { result: y, report } = await profile(() => pad(x, [[1, 1], [0, 0]]));
  assertEquals(report.dispatches, 0, `dispatches (${report.kernels.map((k) => k.name)})`);
  assertEquals([...await y.floats()], [...new Array(6).fill(0), ...values, ...new Array(6).fill(0)], "zeros, x, zeros");
  // A pad inside the rows is not one run: the strided kernel.
  const { result: z, report: inner } = await profile(() => pad(x, [[0, 0], [1, 0]]));
  assertEquals(inner.dispatches, 1, "a pad within rows");
  assertEquals([...await z.floats()], [0, ...values.subarray(0, 6), 0, ...values.subarray(6)], "a zero before each row");
  for (const t of [x, y, z]) t.dispose();
});

test("a slice of elements that are not consecutive copies them with one strided copy", async () => {
  for (const [i, c] of COPIES.entries()) {
    const r = await sliced(c, i + 20);
    assert(!r.shared, `${label(c)}: has its own storage`);
    assertEquals(r.kernels, ["movement.strided_copy ×1"], `${label(c)}: kernels`);
    assertEquals(r.values, r.expected, `${label(c)}: values`);
  }
});

test("a prefix view outlives its disposed source with its values, and the buffer is freed with the last of them", async () => {
  const before = memory();
  const values = seededValues(6 * 8, 40);
  const x = tensor(values, [6, 8]);
  const view = slice(x, [0, 0], [4, 8]);
  const viewOfView = slice(view, [0, 0], [1, 8]);
  x.dispose();
  await assertRejects(() => x.data(), /disposed/);
  assertEquals(memory().liveBuffers - before.liveBuffers, 1, "one buffer for x and its views");
  // Tensors of x's size made now must not get its buffer.
  const others = [tensor(new Float32Array(48).fill(7), [6, 8]), tensor(new Float32Array(32).fill(9), [4, 8])];
  assertEquals([...await view.floats()], [...values.subarray(0, 32)], "the view's values");
  view.dispose();
  assertEquals([...await viewOfView.floats()], [...values.subarray(0, 8)], "the view of the view");
  assertEquals(memory().liveBuffers - before.liveBuffers, 3, "x's buffer is still held by the last view");
  viewOfView.dispose();
  for (const t of others) t.dispose();
  assertEquals(memory().liveBuffers, before.liveBuffers, "live buffers");
  assertEquals(memory().liveBytes, before.liveBytes, "live bytes");
});

test("second-order gradients through prefix views leave no live bytes", async () => {
  const x = tensor(seededValues(6 * 5, 50), [6, 5]);
  // The prefix views and their VJPs (pads whose own VJPs are prefix slices again) all run.
  const f = (v: Tensor) => sum(tanh(mul(slice(mul(v, v), [0, 0], [4, 5]), slice(v, [0, 0], [4, 5]))));
  const curvature = (v: Tensor) => sum(mul(grad(f)(v), slice(grad(f)(v), [0, 0], [6, 5])));
  const once = async () => {
    const g = tidy(() => grad(curvature)(x));
    const values = [...await g.floats()];
    g.dispose();
    return values;
  };
  const first = await once(); // the pool holds its buffers from here on
  const baseline = memory().liveBytes;
  const again = await once();
  assertEquals(again, first, "the same gradient");
  assert(first.slice(0, 20).some((v) => v !== 0) && first.slice(20).every((v) => v === 0), "rows past the prefix get no gradient");
  assertEquals(memory().liveBytes, baseline, "live bytes after a grad of a grad");
  x.dispose();
});
