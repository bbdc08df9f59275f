/**
 * Fused vs composed attention at ViT shapes (batch 8, 197 tokens, head dim 64; 3/6/12 heads for
 * ViT-Ti/S/B): time and peak GPU memory of the forward pass and of forward + backward (∂/∂q, k, v),
 * printed as a table with composed ÷ fused ratios (above 1: fused is better). Both paths are
 * cross-checked against each other before timing.
 *
 *   deno run -A bench/attention/main.ts [--models Ti,S,B] [--batch 8] [--tokens 197]
 *                                       [--warmup 2] [--reps 10] [--budget 10]
 */
import { parseArgs } from "node:util";
import * as h from "../../src/mod.ts";
import {
  COMMON_OPTIONS, formatNumber, formatTable, intOption, listOption, relativeDifference, timeWorkload, timingOptions,
} from "../lib.ts";
import type { Workload } from "../peers/peer.ts";

const HEADS: Record<string, number> = { Ti: 3, S: 6, B: 12 };
const HEAD_DIM = 64;
/** float32 results of the two paths differ by rounding only; more means a wrong result. */
const AGREEMENT = 1e-4;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    ...COMMON_OPTIONS,
    models: { type: "string", default: "Ti,S,B" },
    batch: { type: "string", default: "8" },
    tokens: { type: "string", default: "197" },
  },
});
const models = listOption(values.models);
for (const m of models) if (!(m in HEADS)) throw new Error(`--models: unknown model "${m}" (use Ti, S, B)`);
const batch = intOption("batch", values.batch);
const tokens = intOption("tokens", values.tokens);
const timing = timingOptions(values);

const backend = await h.init();
console.log(
  `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, load ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}, ` +
    `adapter ${backend.adapter.description}, workgroup memory ${backend.limits.maxComputeWorkgroupStorageSize} B`,
);

type Implementation = "fused" | "composed";
type Pass = "forward" | "forward+backward";

/** One repetition of `pass` on resident q, k, v; returns the output (forward) or ∂/∂q (backward). */
function step(pass: Pass, implementation: Implementation, q: h.Tensor, k: h.Tensor, v: h.Tensor, w: h.Tensor): h.Tensor {
  if (pass === "forward") return h.attention(q, k, v, { implementation });
  const loss = ([a, b, c]: h.Tensor[]) => h.sum(h.mul(h.attention(a, b, c, { implementation }), w));
  const [dq, dk, dv] = h.grad(loss)([q, k, v]);
  dk.dispose();
  dv.dispose();
  return dq;
}

function workload(pass: Pass, implementation: Implementation, inputs: h.Tensor[]): Workload {
  let last: h.Tensor | null = null;
  return {
    run() {
      last?.dispose();
      last = h.tidy(() => step(pass, implementation, inputs[0], inputs[1], inputs[2], inputs[3]));
    },
    sync: () => backend.sync(),
    read: () => last!.floats(),
    dispose() {
      last?.dispose();
    },
  };
}

/** Peak bytes one repetition adds on top of the resident inputs. */
async function peakBytes(pass: Pass, implementation: Implementation, inputs: h.Tensor[]): Promise<number> {
  await backend.sync();
  const before = h.memory().liveBytes;
  backend.pool.resetPeak();
  const out = h.tidy(() => step(pass, implementation, inputs[0], inputs[1], inputs[2], inputs[3]));
  await backend.sync();
  const peak = h.memory().peakBytes - before;
  out.dispose();
  return peak;
}

const MB = 1024 * 1024;
const rows: string[][] = [];
for (const model of models) {
  const shape = [batch, HEADS[model], tokens, HEAD_DIM];
  const inputs = [1, 2, 3, 4].map((seed) => h.randomNormal(shape, { seed }));
  for (const pass of ["forward", "forward+backward"] as const) {
    const ms: Record<string, number> = {};
    const peak: Record<string, number> = {};
    const outputs: Record<string, Float32Array> = {};
    for (const implementation of ["fused", "composed"] as const) {
      const run = workload(pass, implementation, inputs);
      const t = await timeWorkload(run, timing);
      outputs[implementation] = await run.read();
      run.dispose();
      ms[implementation] = t.medianMs;
      peak[implementation] = await peakBytes(pass, implementation, inputs);
      console.error(
        `ViT-${model} ${pass} ${implementation}: median ${formatNumber(t.medianMs)} ms over ${t.samplesMs.length} reps, ` +
          `peak +${formatNumber(peak[implementation] / MB)} MiB`,
      );
    }
    const difference = relativeDifference(outputs.fused, outputs.composed);
    if (!(difference <= AGREEMENT)) {
      throw new Error(`ViT-${model} ${pass}: fused and composed differ by ${difference.toExponential(2)} (relative)`);
    }
    rows.push([
      `ViT-${model} [${shape}]`,
      pass,
      formatNumber(ms.fused),
      formatNumber(ms.composed),
      `${formatNumber(ms.composed / ms.fused)}×`,
      formatNumber(peak.fused / MB),
      formatNumber(peak.composed / MB),
      `${formatNumber(peak.composed / peak.fused)}×`,
    ]);
  }
  h.dispose(inputs);
}
console.log(formatTable(
  ["shape [B, H, T, D]", "pass", "fused ms", "composed ms", "speed-up", "fused MiB", "composed MiB", "memory saving"],
  rows,
));
