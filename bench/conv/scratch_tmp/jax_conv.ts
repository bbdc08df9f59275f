// Scratch (not committed): jax-js vs Harmonize conv2d at one shape, same process, alternating.
import { grad as jgrad, lax, numpy as np } from "@jax-js/jax";
import { jaxjs } from "/work/main/bench/peers/jaxjs.ts";
import { conv2d, grad, init, randomNormal, sum, tidy, type Tensor } from "/work/main/src/mod.ts";
import { engine } from "/work/main/src/engine.ts";
const [B, C, H, K, S, P] = (Deno.args[0] ?? "8,64,56,3,1,1").split(",").map(Number);
const O = Number(Deno.args[1] ?? C);
await jaxjs.init();
await init();
const OH = Math.floor((H + 2 * P - K) / S) + 1;
const flops = 2 * B * O * OH * OH * C * K * K;
const xs = new Float32Array(B * C * H * H).map(() => Math.random() - 0.5);
const ws = new Float32Array(O * C * K * K).map(() => Math.random() - 0.5);
const jx = np.array(xs, { shape: [B, C, H, H], dtype: np.float32, device: "webgpu" });
const jw = np.array(ws, { shape: [O, C, K, K], dtype: np.float32, device: "webgpu" });
const jconv = (x: any, w: any) => lax.convGeneralDilated(x, w, [S, S], [[P, P], [P, P]]);
const jfb = jgrad((x: any, w: any) => jconv(x, w).sum(), { argnums: [0, 1] });
const x = randomNormal([B, C, H, H], { seed: 1 }), w = randomNormal([O, C, K, K], { seed: 2 });
const hfb = grad(([a, b]: Tensor[]) => sum(conv2d(a, b, { stride: S, padding: P })));
async function time(name: string, mult: number, f: () => Promise<void>) {
  await f();
  const t: number[] = [];
  for (let i = 0; i < 3; i++) { const s = performance.now(); await f(); t.push(performance.now() - s); }
  t.sort((a, b) => a - b);
  console.log(name.padEnd(16), t[1].toFixed(0).padStart(6), "ms", (mult * flops / t[1] / 1e6).toFixed(2), "GFLOP/s");
}
await time("jax fwd", 1, async () => { const y = jconv(jx.ref, jw.ref); await y.blockUntilReady(); y.dispose(); });
await time("harmonize fwd", 1, async () => { const y = tidy(() => conv2d(x, w, { stride: S, padding: P })); await engine.backend.sync(); y.dispose(); });
await time("jax f+b", 3, async () => { const [gx, gw] = jfb(jx.ref, jw.ref) as any; await gx.blockUntilReady(); await gw.blockUntilReady(); gx.dispose(); gw.dispose(); });
await time("harmonize f+b", 3, async () => { const g = tidy(() => hfb([x, w])); await engine.backend.sync(); g.forEach((t) => t.dispose()); });
