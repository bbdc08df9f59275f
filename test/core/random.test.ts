import * as h from "../../src/mod.ts";
import { assert, assertEquals, test } from "../harness.ts";

function moments(values: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const v of values) s += v;
  const mean = s / values.length;
  let q = 0;
  for (const v of values) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / values.length) };
}

test("random tensors are reproducible per seed and differ across seeds", async () => {
  await h.init();
  const [a, b, c] = [h.randomNormal([1000], { seed: 42 }), h.randomNormal([1000], { seed: 42 }), h.randomNormal([1000], { seed: 43 })];
  const [da, db, dc] = await Promise.all([a.data(), b.data(), c.data()]);
  assertEquals(Array.from(da), Array.from(db));
  assert(da.some((v, i) => v !== dc[i]), "seeds 42 and 43 give different values");
  h.dispose([a, b, c]);
});

test("uniform and normal have the requested moments (n = 2^18)", async () => {
  await h.init();
  const u = h.randomUniform([1 << 18], { seed: 7, low: -2, high: 4 });
  const n = h.randomNormal([1 << 18], { seed: 8, mean: 3, std: 0.5 });
  const du = (await u.data()) as Float32Array;
  const dn = (await n.data()) as Float32Array;
  assert(du.every((v) => v >= -2 && v < 4), "uniform values in [low, high)");
  const mu = moments(du);
  assert(Math.abs(mu.mean - 1) < 0.02 && Math.abs(mu.std - Math.sqrt(3)) < 0.02, `uniform moments ${JSON.stringify(mu)}`);
  const mn = moments(dn);
  assert(Math.abs(mn.mean - 3) < 0.005 && Math.abs(mn.std - 0.5) < 0.005, `normal moments ${JSON.stringify(mn)}`);
  // Tail check: about 4.55% of normal samples lie beyond 2σ.
  const tail = dn.filter((v) => Math.abs(v - 3) > 1).length / dn.length;
  assert(Math.abs(tail - 0.0455) < 0.003, `2σ tail fraction ${tail}`);
  h.dispose([u, n]);
});
