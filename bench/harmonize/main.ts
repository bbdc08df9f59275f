/**
 * Cost of one harmonized training step (docs/harmonization.md §1: forward, saliency, loss, double backprop, SGD
 * update) against a plain cross-entropy step of the same model and batch, for ResNet-18 and
 * ViT-Ti/16 at 64×64 and 224×224, with the peak GPU memory of each; and the same ResNet-18 steps
 * written with jax-js (bench/peers/jaxjs_resnet.ts) on the same adapter, in the same run, timed in
 * turns with ours. Each sample is one step, synchronised by reading the loss back; warm-up steps
 * are excluded. CPU time (of the whole process: on lavapipe the GPU is the CPU) is reported too,
 * since it depends less on the machine's load than wall time.
 *
 *   deno task bench:harmonize [--quick] [--models resnet18,vit_tiny] [--sizes 64,224] [--batch 8]
 *                             [--peers jax-js] [--warmup 1] [--reps 3] [--reps-large 1] [--budget 120]
 *                             [--total-budget 900] [--max-memory-gib N] [--profile]
 *                             [--batch-norm fused,composed]
 *
 * --reps-large: timed steps at the sizes above the smallest. --budget: seconds of timing per
 * configuration (after at least 2 rounds). --quick: ResNet-18 at 64×64 only (with the jax-js
 * peer). A configuration whose predicted time (its time at the smallest size, scaled by pixel
 * count) does not fit in what is left of --total-budget seconds is skipped, and the reason is
 * printed; so is one whose predicted peak memory exceeds --max-memory-gib (default: half the
 * memory available; on lavapipe GPU buffers are host memory). One that fails is reported and the
 * run goes on. --profile: after timing, one more step of each of our modes runs under the
 * profiler (src/profile.ts) and its table is printed (docs/profiling.md). --batch-norm: the
 * batch-norm kernel variants to time (default: the kernel policy's); several are timed in turns in
 * one run, one row each. For the harmonized / plain ratio on a CPU adapter, time 40 steps per mode
 * (--reps 40 --warmup 2 --budget 300): single steps vary by ±15–20 % there (docs/benchmarks.md).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { dispose, init } from "../../src/mod.ts";
import { createModel, type Model } from "../../src/models/mod.ts";
import { type BatchNormVariant, checkVariant } from "../../src/backend/kernel_policy.ts";
import { formatProfile, profile } from "../../src/profile.ts";
import { hostBatch, oursStepWorkload } from "./step.ts";
import { formatNumber, formatTable, intOption, listOption, median, timeInterleaved, type TimingOptions } from "../lib.ts";
import type { Workload } from "../peers/peer.ts";
import { jaxjs } from "../peers/jaxjs.ts";
import { resnet18StepWorkload, type StepMode } from "../peers/jaxjs_resnet.ts";

const LR = 0.01;
const CLASSES = 1000;
const MODES: StepMode[] = ["harmonized", "plain"];
const MODEL_CONFIGS = {
  resnet18: (_size: number) => createModel({ arch: "resnet", preset: "resnet18", classes: CLASSES }),
  vit_tiny: (size: number) => createModel({ arch: "vit", preset: "vit_tiny_patch16_224", imageSize: size, classes: CLASSES }),
} satisfies Record<string, (size: number) => Model>;
type ModelName = keyof typeof MODEL_CONFIGS;
const LABELS: Record<ModelName, string> = { resnet18: "ResNet-18", vit_tiny: "ViT-Ti/16" };

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    models: { type: "string", default: "resnet18,vit_tiny" },
    sizes: { type: "string", default: "64,224" },
    batch: { type: "string", default: "8" },
    peers: { type: "string", default: "jax-js" },
    warmup: { type: "string", default: "1" },
    reps: { type: "string", default: "3" },
    "reps-large": { type: "string", default: "1" },
    budget: { type: "string", default: "120" },
    "total-budget": { type: "string", default: "900" },
    "max-memory-gib": { type: "string" },
    profile: { type: "boolean", default: false },
    "batch-norm": { type: "string" },
  },
});
const models = (values.quick ? ["resnet18"] : listOption(values.models)) as ModelName[];
for (const m of models) if (!(m in MODEL_CONFIGS)) throw new Error(`--models: unknown model "${m}" (known: ${Object.keys(MODEL_CONFIGS).join(", ")})`);
const sizes = (values.quick ? [64] : listOption(values.sizes).map((s) => intOption("sizes", s))).sort((a, b) => a - b);
const batchSize = intOption("batch", values.batch);
const peers = listOption(values.peers);
for (const p of peers) if (p !== jaxjs.name) throw new Error(`--peers: only "${jaxjs.name}" has a training step here, got "${p}"`);
const reps = Math.max(1, intOption("reps", values.reps));
const batchNormVariants = values["batch-norm"] === undefined ? [undefined] : listOption(values["batch-norm"]).map((v) => checkVariant("batchNorm", v));
const timing: TimingOptions = {
  warmup: intOption("warmup", values.warmup),
  reps,
  budgetSeconds: Number(values.budget),
  minReps: Math.min(2, reps),
};
/** Above the smallest size a step takes minutes on lavapipe: fewer timed steps there. */
const largeReps = Math.max(1, intOption("reps-large", values["reps-large"]));
const largeTiming: TimingOptions = { ...timing, reps: largeReps, minReps: Math.min(timing.minReps, largeReps) };
const totalBudgetSeconds = Number(values["total-budget"]);
/** On lavapipe GPU buffers are host memory, shared with everything else on the machine. */
const maxMemoryBytes = values["max-memory-gib"] !== undefined
  ? Number(values["max-memory-gib"]) * 2 ** 30
  : Deno.systemMemoryInfo().available / 2;

const backend = await init();
if (peers.length > 0) await jaxjs.init();
const loadAverage = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, load average ${loadAverage()}`);
console.log(`  harmonize on ${backend.adapter.description}`);
if (peers.length > 0) console.log(`  ${jaxjs.version} on ${jaxjs.adapter()}`);
console.log(
  `batch ${batchSize}, ${CLASSES} classes, SGD lr ${LR}; warm-up ${timing.warmup}, up to ${reps} timed steps each ` +
    `(${largeReps} above ${sizes[0]}×${sizes[0]})\n`,
);

/** A workload plus what it measured: CPU ms per timed step, and peak GPU bytes (ours only). */
interface Measured extends Workload {
  cpuMs: number[];
  peakBytes?: number;
}

/** Records the process's CPU time (user + system) from each run() to the end of its sync(). */
function withCpuTime(inner: Workload & { peakBytes?: () => number }): Measured {
  let start: NodeJS.CpuUsage | null = null;
  const measured: Measured = {
    cpuMs: [],
    run() {
      start = process.cpuUsage();
      inner.run();
    },
    async sync() {
      await inner.sync();
      if (start) {
        const used = process.cpuUsage(start);
        measured.cpuMs.push((used.user + used.system) / 1000);
        start = null;
      }
      measured.peakBytes = inner.peakBytes?.();
    },
    read: () => inner.read(),
    dispose: () => inner.dispose(),
  };
  return measured;
}

interface Row {
  label: string;
  harmonizedMs?: number;
  plainMs?: number;
  harmonizedCpuMs?: number;
  plainCpuMs?: number;
  harmonizedPeak?: number;
  plainPeak?: number;
  jaxHarmonizedMs?: number;
  jaxPlainMs?: number;
  jaxHarmonizedCpuMs?: number;
  jaxPlainCpuMs?: number;
}

const started = performance.now();
const secondsLeft = () => totalBudgetSeconds - (performance.now() - started) / 1000;
const rows: Row[] = [];
const skipped: string[] = [];
const failed: string[] = [];
/** At the smallest size measured, per model: median harmonized + plain seconds, harmonized peak bytes. */
const reference = new Map<ModelName, { size: number; seconds: number; peakBytes: number }>();

for (const size of sizes) {
  for (const name of models) {
    const label = `${LABELS[name]} ${size}×${size}`;
    const known = reference.get(name);
    const sizeTiming = size === sizes[0] ? timing : largeTiming;
    if (known) {
      const predictedPeak = known.peakBytes * (size / known.size) ** 2;
      if (predictedPeak > maxMemoryBytes) {
        skipped.push(
          `${label}: predicted peak ≈ ${formatNumber(predictedPeak / 2 ** 30)} GiB (${formatNumber(known.peakBytes / 2 ** 30)} GiB at ` +
            `${known.size}×${known.size} × ${formatNumber((size / known.size) ** 2)} pixels) exceeds ` +
            `${formatNumber(maxMemoryBytes / 2 ** 30)} GiB (--max-memory-gib; default half the available memory)`,
        );
        continue;
      }
      const predicted = known.seconds * (size / known.size) ** 2 * (sizeTiming.warmup + sizeTiming.minReps);
      if (predicted > secondsLeft()) {
        skipped.push(
          `${label}: predicted ≈ ${formatNumber(predicted)} s (${formatNumber(known.seconds)} s per harmonized + plain ` +
            `step pair at ${known.size}×${known.size}, × ${formatNumber((size / known.size) ** 2)} pixels, × ` +
            `${sizeTiming.warmup + sizeTiming.minReps} steps), ${formatNumber(Math.max(0, secondsLeft()))} s of --total-budget left`,
        );
        continue;
      }
    }
    const withPeer = name === "resnet18" && peers.length > 0 && size === 64;
    // One model per mode, from the same seed: each step sequence trains its own copy.
    const ours = batchNormVariants.flatMap((variant) => MODES.map((mode) => ({ variant, mode })));
    const oursLabel = (variant?: BatchNormVariant) => (variant && batchNormVariants.length > 1 ? `${label} (BN ${variant})` : label);
    const stepModels = ours.map(() => MODEL_CONFIGS[name](size));
    const host = hostBatch(batchSize, size, CLASSES);
    const workloads: Measured[] = ours.map(({ variant, mode }, i) => withCpuTime(oursStepWorkload(stepModels[i], host, { mode, lr: LR, classes: CLASSES }, variant)));
    if (withPeer) {
      const state = await stepModels[0].hostStateDict();
      for (const mode of MODES) workloads.push(withCpuTime(resnet18StepWorkload(mode, state, host, LR)));
    }
    console.error(`${label}: timing ${workloads.length} steps in turns…`);
    try {
      const timings = await timeInterleaved(workloads, sizeTiming);
      const cpu = (w: Measured) => median(w.cpuMs.slice(sizeTiming.warmup));
      const variantRows: Row[] = batchNormVariants.map((variant, v) => ({
        label: oursLabel(variant),
        harmonizedMs: timings[2 * v].medianMs,
        plainMs: timings[2 * v + 1].medianMs,
        harmonizedCpuMs: cpu(workloads[2 * v]),
        plainCpuMs: cpu(workloads[2 * v + 1]),
        harmonizedPeak: workloads[2 * v].peakBytes,
        plainPeak: workloads[2 * v + 1].peakBytes,
      }));
      const row = variantRows[0];
      const p = ours.length;
      if (withPeer) {
        Object.assign(row, {
          jaxHarmonizedMs: timings[p].medianMs,
          jaxPlainMs: timings[p + 1].medianMs,
          jaxHarmonizedCpuMs: cpu(workloads[p]),
          jaxPlainCpuMs: cpu(workloads[p + 1]),
        });
      }
      const losses = await Promise.all(workloads.map(async (w) => (await w.read())[0]));
      for (const [i, w] of workloads.entries()) {
        const who = i < p ? `harmonize ${ours[i].mode}${ours[i].variant ? ` (BN ${ours[i].variant})` : ""}` : `jax-js ${MODES[i - p]}`;
        console.error(
          `  ${who}: wall ${timings[i].samplesMs.map((ms) => formatNumber(ms / 1000)).join(", ")} s; ` +
            `cpu ${w.cpuMs.slice(sizeTiming.warmup).map((ms) => formatNumber(ms / 1000)).join(", ")} s; ` +
            `loss after ${sizeTiming.warmup + timings[i].samplesMs.length} steps ${losses[i].toPrecision(6)}` +
            (i < p ? "" : `, rel. diff vs harmonize ${Math.abs(losses[i] - losses[i - p]) / Math.abs(losses[i - p])}`),
        );
      }
      rows.push(...variantRows);
      if (values.profile) {
        for (const [i, { variant, mode }] of ours.entries()) {
          const { report } = await profile(async () => {
            workloads[i].run();
            await workloads[i].sync();
          });
          console.log(`\n${oursLabel(variant)}, ${mode} step, load average ${loadAverage()}:\n${formatProfile(report)}\n`);
        }
      }
      if (!reference.has(name)) {
        reference.set(name, { size, seconds: (row.harmonizedMs! + row.plainMs!) / 1000, peakBytes: row.harmonizedPeak ?? 0 });
      }
    } catch (e) {
      // One broken configuration (e.g. a kernel error at one size) should not hide the others.
      failed.push(`${label}: ${(e as Error).message.split("\n")[0]}`);
      console.error(`  failed: ${(e as Error).message}`);
    } finally {
      for (const w of workloads) w.dispose();
      for (const m of stepModels) m.dispose();
    }
  }
}

const seconds = (ms?: number) => formatNumber(ms === undefined ? undefined : ms / 1000);
const ratio = (a?: number, b?: number) => (a === undefined || b === undefined ? "—" : `${formatNumber(a / b)}×`);
const mib = (bytes?: number) => formatNumber(bytes === undefined ? undefined : bytes / 2 ** 20);
console.log(formatTable(
  [
    "model, input", "harmonized s", "plain s", "harm. / plain", "harm. CPU s", "plain CPU s", "harm. peak MiB",
    "plain peak MiB", "jax-js harm. s", "jax-js plain s", "jax-js harm. / plain", "ours / jax-js (harm.)",
  ],
  rows.map((r) => [
    r.label,
    seconds(r.harmonizedMs),
    seconds(r.plainMs),
    ratio(r.harmonizedMs, r.plainMs),
    seconds(r.harmonizedCpuMs),
    seconds(r.plainCpuMs),
    mib(r.harmonizedPeak),
    mib(r.plainPeak),
    seconds(r.jaxHarmonizedMs),
    seconds(r.jaxPlainMs),
    ratio(r.jaxHarmonizedMs, r.jaxPlainMs),
    ratio(r.harmonizedMs, r.jaxHarmonizedMs),
  ]),
));
console.log("ours / jax-js is wall time of ours ÷ jax-js's (below 1: ours is faster). CPU s: process CPU time per step.");
for (const row of rows.filter((r) => r.jaxHarmonizedCpuMs !== undefined)) {
  console.log(`${row.label}: ours / jax-js by CPU time: harmonized ${ratio(row.harmonizedCpuMs, row.jaxHarmonizedCpuMs)}, plain ${ratio(row.plainCpuMs, row.jaxPlainCpuMs)}`);
}
if (skipped.length > 0) console.log(`\nskipped:\n${skipped.map((s) => `  ${s}`).join("\n")}`);
if (failed.length > 0) console.log(`\nfailed:\n${failed.map((s) => `  ${s}`).join("\n")}`);
console.log(`\ntotal ${formatNumber((performance.now() - started) / 1000)} s, load average at the end ${loadAverage()}; peak GPU memory is Harmonize's buffer pool (jax-js exposes none)`);
