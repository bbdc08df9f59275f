import * as h from "../../src/mod.ts";
import { assert, assertClose, assertEquals, assertRejects, test } from "../harness.ts";

test("tidy frees what it made except the result; keep and dispose", async () => {
  await h.init();
  const before = h.memory().liveBuffers;
  let exempt: h.Tensor | undefined;
  const kept = h.tidy(() => {
    const a = h.ones([8, 8]);
    exempt = h.keep(h.exp(a));
    const c = h.add(a, exempt);
    return [c, { nested: h.mul(c, 2) }] as const;
  });
  // c, the nested product and the kept exp survive; a and the scalar 2 are gone.
  assertEquals(h.memory().liveBuffers - before, 3);
  assertClose(await kept[1].nested.data(), new Array(64).fill(2 * (1 + Math.E)), { rtol: 1e-6 });
  h.dispose(kept);
  assertEquals(h.memory().liveBuffers - before, 1);
  await assertRejects(() => kept[0].data(), /disposed/);
  exempt!.dispose();
  assertEquals(h.memory().liveBuffers, before);
});

test("live bytes return to baseline after many grad-of-grad iterations inside tidy", async () => {
  await h.init();
  const x = h.randomNormal([16, 16], { seed: 3 });
  const w = h.randomNormal([16, 16], { seed: 4 });
  const f = (v: h.Tensor) => h.sum(h.tanh(h.matmul(h.softmax(v, 1), w)));
  const hessianDiagonalish = (v: h.Tensor) => h.sum(h.mul(h.grad(f)(v), h.grad(f)(v)));
  // One warm-up so the pool holds its buffers, then measure.
  h.tidy(() => h.grad(hessianDiagonalish)(x));
  await h.init().then((b) => b.sync());
  const baseline = h.memory().liveBytes;
  let last = 0;
  for (let i = 0; i < 25; i++) {
    const g = h.tidy(() => h.grad(hessianDiagonalish)(x));
    last = (await g.data())[0];
    g.dispose();
  }
  assert(Number.isFinite(last), "gradient is finite");
  assertEquals(h.memory().liveBytes, baseline, "live bytes after 25 iterations");
  x.dispose();
  w.dispose();
});

test("the buffer pool reuses freed buffers instead of allocating", async () => {
  await h.init();
  const first = h.zeros([1000]);
  first.dispose();
  const pooled = h.memory().pooledBytes;
  const second = h.zeros([1000]);
  assert(h.memory().pooledBytes < pooled, "a pooled buffer was handed out again");
  second.dispose();
});

test("the buffer pool hands out the earliest-made free buffer, whatever the order of release", async () => {
  const backend = await h.init();
  const made = [backend.pool.acquire(3000), backend.pool.acquire(3000), backend.pool.acquire(3000)];
  for (const i of [1, 2, 0]) backend.pool.release(made[i]);
  const again = [backend.pool.acquire(3000), backend.pool.acquire(3000), backend.pool.acquire(3000)];
  // Other tests may have left free buffers of this class made before ours: compare the order.
  const positions = made.map((b) => again.indexOf(b)).filter((i) => i >= 0);
  assertEquals(positions, [...positions].sort(), "made first, handed out first");
  for (const b of again) backend.pool.release(b);
});

test("peak bytes track the high-water mark", async () => {
  const backend = await h.init();
  backend.pool.resetPeak();
  const base = h.memory().liveBytes;
  const big = h.zeros([1 << 16]);
  big.dispose();
  const stats = h.memory();
  assert(stats.peakBytes >= base + (1 << 18), `peak ${stats.peakBytes} covers the 256 KiB tensor`);
  assertEquals(stats.liveBytes, base);
});
