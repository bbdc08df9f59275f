/**
 * conv2d speed at ResNet shapes: forward, and forward+backward (grad of Σ conv2d(x, w) w.r.t. x
 * and w: forward, input gradient and weight gradient), in GFLOP/s on this runtime's adapter.
 * Run: node_modules/.bin/deno run -A bench/conv/main.ts [--repeats 5] [--variant registers|shared]
 */
import { conv2d, grad, init, randomNormal, sum, type Tensor, tidy } from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: number;
  padding: number;
}

const CASES: Case[] = [
  { name: "56×56 64→64 3×3", x: [8, 64, 56, 56], w: [64, 64, 3, 3], stride: 1, padding: 1 },
  { name: "28×28 128→128 3×3", x: [8, 128, 28, 28], w: [128, 128, 3, 3], stride: 1, padding: 1 },
  { name: "stem 224×224 3→64 7×7/2", x: [8, 3, 224, 224], w: [64, 3, 7, 7], stride: 2, padding: 3 },
];

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

const repeats = Number(flag("repeats", "5"));
await init();

function forwardFlops(c: Case): number {
  const [n, , h, w] = c.x;
  const [o, cin, kh, kw] = c.w;
  const oh = Math.floor((h + 2 * c.padding - kh) / c.stride) + 1;
  const ow = Math.floor((w + 2 * c.padding - kw) / c.stride) + 1;
  return 2 * n * o * oh * ow * cin * kh * kw;
}

/** Median seconds of `repeats` runs of `step` (each followed by a GPU sync), after one warm-up. */
async function time(step: () => Tensor | Tensor[]): Promise<number> {
  const run = async () => {
    const start = performance.now();
    const out = step();
    await engine.backend.sync();
    const seconds = (performance.now() - start) / 1000;
    for (const t of [out].flat()) t.dispose();
    return seconds;
  };
  await run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await run());
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

console.log(`adapter: ${JSON.stringify(engine.backend.adapter)}; repeats ${repeats}`);
const rows: string[][] = [["shape (batch 8)", "GFLOP fwd", "fwd ms", "fwd GFLOP/s", "f+b ms", "f+b GFLOP/s"]];
for (const c of CASES) {
  const x = randomNormal(c.x, { seed: 1 });
  const w = randomNormal(c.w, { seed: 2 });
  const options = { stride: c.stride, padding: c.padding };
  const fwd = await time(() => tidy(() => conv2d(x, w, options)));
  const lossGrad = grad(([a, b]: Tensor[]) => sum(conv2d(a, b, options)));
  const fb = await time(() => tidy(() => lossGrad([x, w])));
  const flops = forwardFlops(c);
  rows.push([
    c.name,
    (flops / 1e9).toFixed(2),
    (fwd * 1e3).toFixed(0),
    (flops / fwd / 1e9).toFixed(1),
    (fb * 1e3).toFixed(0),
    ((3 * flops) / fb / 1e9).toFixed(1),
  ]);
  x.dispose();
  w.dispose();
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((cell, i) => cell.padStart(widths[i])).join("  "));
