/**
 * Fused vs composed attention at ViT shapes (batch 8, 197 tokens, head dim 64; 3/6/12 heads for
 * ViT-Ti/S/B): time and peak GPU memory of the forward pass and of forward + backward (∂/∂q, k, v),
 * printed as a table with composed ÷ fused ratios (above 1: fused is better). The two paths'
 * repetitions alternate, so a busy machine slows both alike; on software adapters (lavapipe,
 * SwiftShader), where kernels run on the CPU, the process CPU time per repetition is printed too,
 * which other processes on the machine disturb far less than wall time. Both paths are
 * cross-checked against each other.
 *
 *   deno run -A bench/attention/main.ts [--models Ti,S,B] [--batch 8] [--tokens 197]
 *                                       [--warmup 2] [--reps 10] [--budget 10]
 */
import process from "node:process";
import { parseArgs } from "node:util";
import * as h from "../../src/mod.ts";
import {
  COMMON_OPTIONS, formatNumber, formatTable, intOption, listOption, median, relativeDifference, timingOptions,
} from "../lib.ts";

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
/** Kernels run on the CPU: process CPU time measures them. */
const software = backend.adapter.kind !== "gpu";
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

interface Sample {
  wallMs: number;
  cpuMs: number;
}

/** One repetition, timed until the GPU is done; its result replaces `previous`. */
async function timed(run: () => h.Tensor, previous: h.Tensor | null): Promise<[Sample, h.Tensor]> {
  previous?.dispose();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const out = run();
  await backend.sync();
  const used = process.cpuUsage(cpu);
  return [{ wallMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000 }, out];
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
    const runs = {
      fused: () => h.tidy(() => step(pass, "fused", inputs[0], inputs[1], inputs[2], inputs[3])),
      composed: () => h.tidy(() => step(pass, "composed", inputs[0], inputs[1], inputs[2], inputs[3])),
    };
    const last: Record<Implementation, h.Tensor | null> = { fused: null, composed: null };
    const samples: Record<Implementation, Sample[]> = { fused: [], composed: [] };
    for (let i = 0; i < timing.warmup; i++) {
      for (const implementation of ["fused", "composed"] as const) [, last[implementation]] = await timed(runs[implementation], last[implementation]);
    }
    const start = performance.now();
    while (samples.fused.length < timing.reps) {
      for (const implementation of ["fused", "composed"] as const) {
        const [sample, out] = await timed(runs[implementation], last[implementation]);
        samples[implementation].push(sample);
        last[implementation] = out;
      }
      if (samples.fused.length >= timing.minReps && (performance.now() - start) / 1000 > timing.budgetSeconds) break;
    }
    const outputs = { fused: await last.fused!.floats(), composed: await last.composed!.floats() };
    h.dispose([last.fused!, last.composed!]);
    const ms = { fused: median(samples.fused.map((x) => x.wallMs)), composed: median(samples.composed.map((x) => x.wallMs)) };
    const cpu = { fused: median(samples.fused.map((x) => x.cpuMs)), composed: median(samples.composed.map((x) => x.cpuMs)) };
    const peak = { fused: await peakBytes(pass, "fused", inputs), composed: await peakBytes(pass, "composed", inputs) };
    for (const implementation of ["fused", "composed"] as const) {
      console.error(
        `ViT-${model} ${pass} ${implementation}: median ${formatNumber(ms[implementation])} ms wall, ` +
          `${formatNumber(cpu[implementation])} ms CPU over ${samples[implementation].length} reps, peak +${formatNumber(peak[implementation] / MB)} MiB`,
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
      ...(software ? [formatNumber(cpu.fused), formatNumber(cpu.composed), `${formatNumber(cpu.composed / cpu.fused)}×`] : []),
      formatNumber(peak.fused / MB),
      formatNumber(peak.composed / MB),
      `${formatNumber(peak.composed / peak.fused)}×`,
    ]);
  }
  h.dispose(inputs);
}
console.log(formatTable(
  [
    "shape [B, H, T, D]", "pass", "fused ms", "composed ms", "speed-up",
    ...(software ? ["fused CPU ms", "composed CPU ms", "CPU ratio"] : []),
    "fused MiB", "composed MiB", "memory saving",
  ],
  rows,
));
