/**
 * The GPU benchmark: Harmonize's buffer/shared kernel variants (what real GPUs run by default) on
 * the adapter Deno finds (NVIDIA through Vulkan), next to PyTorch eager CUDA on the same machine
 * when bench/gpu/run.sh passed its result (--torch FILE, from bench/gpu/torch_step.py). One table
 * with the date, load average and adapter:
 *   matmul N³ GFLOP/s for each matmul variant; conv 56² 64→64 3×3 forward+backward GFLOP/s for
 *   each conv variant; one harmonized SGD step of ResNet-50 (median s, peak GiB).
 *
 *   bench/gpu/run.sh [--dry-run] [--batch 16] [--size 224] [--reps 5]    (PyTorch, then this)
 *   deno task bench:gpu [--dry-run] [--batch 16] [--size 224] [--reps 5] [--torch FILE] [--profile]
 *
 * --dry-run: tiny sizes, one repetition, any adapter (lavapipe here), so the script can be checked
 * without a GPU; the numbers mean nothing then.
 */
import { parseArgs } from "node:util";
import { type ConvVariant, dispose, init, KERNEL_VARIANTS, type MatmulVariant } from "../../src/mod.ts";
import { createModel } from "../../src/models/mod.ts";
import { formatProfile, profile } from "../../src/profile.ts";
import { formatNumber, formatTable, gflops, intOption, randomHost, timeWorkload, type TimingOptions } from "../lib.ts";
import { harmonizePeer } from "../peers/harmonize.ts";
import type { Workload } from "../peers/peer.ts";
import { hostBatch, oursStepWorkload } from "../harmonize/step.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "dry-run": { type: "boolean", default: false },
    batch: { type: "string" },
    size: { type: "string" },
    reps: { type: "string" },
    torch: { type: "string" },
    profile: { type: "boolean", default: false },
  },
});
const dry = values["dry-run"];
const batchSize = intOption("batch", values.batch ?? (dry ? "2" : "16"));
const imageSize = intOption("size", values.size ?? (dry ? "16" : "224"));
const reps = Math.max(1, intOption("reps", values.reps ?? (dry ? "1" : "5")));
const timing: TimingOptions = { warmup: dry ? 1 : 2, reps, budgetSeconds: dry ? 0 : 60, minReps: Math.min(reps, 3) };
const MATMUL_N = dry ? 64 : 4096;
const CONV = dry ? { n: 2, c: 4, hw: 8 } : { n: batchSize, c: 64, hw: 56 };
const CLASSES = 1000;
const LR = 0.01;

/** What bench/gpu/torch_step.py prints (one JSON object). */
interface TorchResult {
  device: string;
  torch: string;
  matmul_gflops: number;
  conv_train_gflops: number;
  step_seconds: number;
  /** null on the CPU (dry run). */
  peak_bytes: number | null;
  batch: number;
  size: number;
}

async function readTorch(path: string | undefined): Promise<TorchResult | null> {
  if (!path) return null;
  const text = await Deno.readTextFile(path);
  try {
    const result = JSON.parse(text) as TorchResult;
    if (result.batch !== batchSize || result.size !== imageSize) {
      throw new Error(`it ran batch ${result.batch} at ${result.size}², this run ${batchSize} at ${imageSize}²`);
    }
    return result;
  } catch (e) {
    throw new Error(`--torch ${path}: not a matching torch_step.py result (${(e as Error).message})`);
  }
}

const torch = await readTorch(values.torch);
const peer = harmonizePeer();
await peer.init();
const backend = await init();
const date = new Date().toISOString().slice(0, 16).replace("T", " ");
const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`${date} UTC, Deno ${Deno.version.deno}, load average ${load()}${dry ? ", DRY RUN (tiny sizes; numbers mean nothing)" : ""}`);
console.log(`  harmonize on ${backend.adapter.description} (${backend.adapter.kind}); timestamps ${backend.device.features.has("timestamp-query") ? "yes" : "no"}`);
if (torch) console.log(`  PyTorch ${torch.torch} eager on ${torch.device}`);

async function time(workload: Workload): Promise<number> {
  try {
    return (await timeWorkload(workload, timing)).medianMs;
  } finally {
    workload.dispose();
  }
}

const rows: string[][] = [];
const row = (measure: string, ours: number, theirs: number | undefined, unit: string, higherIsBetter: boolean) =>
  rows.push([
    measure,
    `${formatNumber(ours)} ${unit}`,
    theirs === undefined ? "—" : `${formatNumber(theirs)} ${unit}`,
    theirs === undefined ? "—" : `${formatNumber(higherIsBetter ? ours / theirs : theirs / ours)}×`,
  ]);

const a = randomHost([MATMUL_N, MATMUL_N], 1);
const b = randomHost([MATMUL_N, MATMUL_N], 2);
for (const variant of KERNEL_VARIANTS.matmul as readonly MatmulVariant[]) {
  backend.setKernelVariant("matmul", variant);
  const ms = await time(peer.matmul!(a, b));
  row(`matmul ${MATMUL_N}³ (${variant})`, gflops(2 * MATMUL_N ** 3, ms), torch?.matmul_gflops, "GFLOP/s", true);
}
backend.setKernelVariant("matmul", "shared");

const x = randomHost([CONV.n, CONV.c, CONV.hw, CONV.hw], 3);
const w = randomHost([CONV.c, CONV.c, 3, 3], 4);
// Forward, input gradient and weight gradient: three convolutions' worth of multiply-adds.
const convFlops = 3 * 2 * CONV.n * CONV.c * CONV.c * 9 * CONV.hw * CONV.hw;
for (const variant of KERNEL_VARIANTS.conv as readonly ConvVariant[]) {
  backend.setKernelVariant("conv", variant);
  const ms = await time(peer.conv2dTrain!(x, w, { stride: 1, padding: 1 }));
  row(`conv ${CONV.hw}² ${CONV.c}→${CONV.c} 3×3 b${CONV.n} fwd+bwd (${variant})`, gflops(convFlops, ms), torch?.conv_train_gflops, "GFLOP/s", true);
}
backend.setKernelVariant("conv", "buffers");

const model = createModel({ arch: "resnet", preset: "resnet50", classes: CLASSES });
const step = oursStepWorkload(model, hostBatch(batchSize, imageSize, CLASSES), { mode: "harmonized", lr: LR, classes: CLASSES });
try {
  const timed = await timeWorkload(step, timing);
  const label = `ResNet-50 ${imageSize}² b${batchSize} harmonized step (matmul shared, conv buffers)`;
  row(label, timed.medianMs / 1000, torch?.step_seconds, "s", false);
  row("  its peak memory", step.peakBytes() / 2 ** 30, torch?.peak_bytes ? torch.peak_bytes / 2 ** 30 : undefined, "GiB", false);
  if (values.profile) {
    const { report } = await profile(async () => {
      step.run();
      await step.sync();
    });
    console.log(`\n${formatProfile(report)}\n`);
  }
} finally {
  step.dispose();
  model.dispose();
}

console.log(formatTable(["measure", "harmonize", "PyTorch eager", "harmonize vs PyTorch"], rows));
console.log(
  `ratios: above 1× Harmonize is faster (GFLOP/s, seconds) or smaller (GiB). Medians of ${reps} after ${timing.warmup} warm-up; ` +
    `load average at the end ${load()}; PyTorch's peak is torch.cuda.max_memory_allocated, ours the buffer pool's.`,
);
