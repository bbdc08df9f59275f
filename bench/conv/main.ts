/**
 * conv2d at ResNet shapes, forward and forward+backward (Σ conv2d(x, w) with its gradients w.r.t.
 * x and w), in GFLOP/s for Harmonize and its WebGPU peers on the same adapter in one run, with
 * ratios. Forward results are cross-checked against Harmonize's; the gradients of every framework
 * (Harmonize's included) against a float64 closed form. A framework whose result is wrong is left
 * out of the table and named below it. Harmonize's texture kernels keep a tensor's packings
 * beside it, which the peers do not: with them each repetition uploads x and w as new tensors
 * (timed), so it packs them again (bench/peers/harmonize.ts). Then ResNet-18 throughput (Harmonize only): eval-mode
 * forward and one plain cross-entropy SGD training step, in images/s.
 *
 *   deno task bench:conv [--quick] [--parts conv,resnet] [--batch 8] [--peers tfjs,jax-js]
 *                        [--resnet-sizes 64,224] [--conv-variant textures|buffers]
 *                        [--matmul-variant textures|registers|shared]
 *                        [--warmup 1] [--reps 3] [--budget 10]
 *
 * --quick times one repetition of everything after one warm-up and ResNet-18 at 64×64 only.
 */
import { parseArgs } from "node:util";
import { type ConvVariant, dispose, type MatmulVariant, type Tensor, tensor, tidy } from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import { createModel, type Model } from "../../src/models/mod.ts";
import { Sgd } from "../../src/harmonize/optimizers.ts";
import { type StepResult, trainStep } from "../../src/harmonize/train_step.ts";
import type { Batch } from "../../src/data/batch.ts";
import {
  COMMON_OPTIONS, comparisonTable, environmentReport, formatNumber, formatTable, gflops, intOption, listOption,
  randomHost, relativeDifference, timeInterleaved, timeWorkload, timingOptions,
} from "../lib.ts";
import { type ConvOptions, type HostTensor, openPeers, type Peer, type Workload } from "../peers/mod.ts";

/**
 * float32 results differ from one another and from float64 by rounding only (the weight gradient
 * sums N·OH·OW ≈ 25 000–100 000 terms per entry); more means a wrong result.
 */
const AGREEMENT = 1e-4;
const RESNET_CLASSES = 1000;
const LEARNING_RATE = 0.01;

interface ConvCase {
  label: string;
  /** Input [C, H, W] (the batch comes from --batch) and weight [O, C, KH, KW]. */
  input: [number, number, number];
  weight: [number, number, number, number];
  options: ConvOptions;
}

const CASES: ConvCase[] = [
  { label: "56×56 64→64 3×3", input: [64, 56, 56], weight: [64, 64, 3, 3], options: { stride: 1, padding: 1 } },
  { label: "28×28 128→128 3×3", input: [128, 28, 28], weight: [128, 128, 3, 3], options: { stride: 1, padding: 1 } },
  { label: "stem 224×224 3→64 7×7/2", input: [3, 224, 224], weight: [64, 3, 7, 7], options: { stride: 2, padding: 3 } },
];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    ...COMMON_OPTIONS,
    warmup: { type: "string", default: "1" },
    reps: { type: "string", default: "3" },
    quick: { type: "boolean", default: false },
    parts: { type: "string", default: "conv,resnet" },
    "conv-variant": { type: "string" },
    batch: { type: "string", default: "8" },
    "resnet-sizes": { type: "string", default: "64,224" },
  },
});
const quick = values.quick;
const parts = listOption(values.parts);
for (const part of parts) {
  if (part !== "conv" && part !== "resnet") throw new Error(`--parts takes "conv" and/or "resnet", got "${part}"`);
}
const batch = intOption("batch", values.batch);
const timing = quick ? { ...timingOptions(values), warmup: 1, reps: 1, minReps: 1 } : timingOptions(values);
const resnetSizes = parts.includes("resnet")
  ? listOption(quick ? "64" : values["resnet-sizes"]).map((s) => intOption("resnet-sizes", s))
  : [];
const variant = values["matmul-variant"];
if (variant !== undefined && !["textures", "registers", "shared"].includes(variant)) {
  throw new Error(`--matmul-variant must be "textures", "registers" or "shared", got "${variant}"`);
}
const convVariant = values["conv-variant"];
if (convVariant !== undefined && convVariant !== "textures" && convVariant !== "buffers") {
  throw new Error(`--conv-variant must be "textures" or "buffers", got "${convVariant}"`);
}
const { ours, peers } = await openPeers(parts.includes("conv") ? listOption(values.peers) : [], {
  kernels: { matmul: variant as MatmulVariant | undefined, conv: convVariant as ConvVariant | undefined },
});
const everyone = [ours, ...peers];
console.log(environmentReport(everyone));
console.log(`batch ${batch}; warm-up ${timing.warmup}, ${timing.reps} reps at most, ${timing.budgetSeconds} s budget per case`);

/** 2·N·O·OH·OW·C·KH·KW: the multiply-adds of one forward convolution. */
function forwardFlops({ input: [c, h, w], weight: [o, , kh, kw], options: { stride, padding } }: ConvCase): number {
  const oh = Math.floor((h + 2 * padding - kh) / stride) + 1;
  const ow = Math.floor((w + 2 * padding - kw) / stride) + 1;
  return 2 * batch * o * oh * ow * c * kh * kw;
}

/**
 * The float64 gradients of Σ conv2d(x, w) (dy = 1 everywhere) in closed form, input gradient
 * (NCHW) then weight gradient (OIHW): gx[n, c, i, j] = Σ_o Σ w[o, c, kh, kw] over the taps whose
 * output position (i + p − kh)/s, (j + p − kw)/s is a whole index inside the output;
 * gw[o, c, kh, kw] = Σ x[n, c, oh·s + kh − p, ow·s + kw − p] over n, oh, ow (the same for every o).
 */
function sumConvGradients({ options: { stride, padding } }: ConvCase, x: HostTensor, w: HostTensor): Float64Array {
  const [n, channels, h, width] = x.shape;
  const [o, , kh, kw] = w.shape;
  const oh = Math.floor((h + 2 * padding - kh) / stride) + 1;
  const ow = Math.floor((width + 2 * padding - kw) / stride) + 1;
  const taps = kh * kw;
  const reads = (i: number, k: number, out: number) => {
    const t = i + padding - k;
    return t >= 0 && t % stride === 0 && t / stride < out;
  };
  const weightSum = new Float64Array(channels * taps);
  for (let oc = 0; oc < o; oc++) {
    for (let k = 0; k < channels * taps; k++) weightSum[k] += w.data[oc * channels * taps + k];
  }
  const result = new Float64Array(x.data.length + w.data.length);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < width; j++) {
          let total = 0;
          for (let a = 0; a < kh; a++) {
            if (!reads(i, a, oh)) continue;
            for (let e = 0; e < kw; e++) if (reads(j, e, ow)) total += weightSum[c * taps + a * kw + e];
          }
          result[((b * channels + c) * h + i) * width + j] = total;
        }
      }
    }
  }
  for (let c = 0; c < channels; c++) {
    for (let a = 0; a < kh; a++) {
      for (let e = 0; e < kw; e++) {
        let total = 0;
        for (let b = 0; b < n; b++) {
          for (let y = 0; y < oh; y++) {
            const i = y * stride + a - padding;
            if (i < 0 || i >= h) continue;
            const row = ((b * channels + c) * h + i) * width;
            for (let z = 0; z < ow; z++) {
              const j = z * stride + e - padding;
              if (j >= 0 && j < width) total += x.data[row + j];
            }
          }
        }
        for (let oc = 0; oc < o; oc++) result[x.data.length + (oc * channels + c) * taps + a * kw + e] = total;
      }
    }
  }
  return result;
}

type ConvMethod = "conv2d" | "conv2dTrain";

/** Frameworks left out of a table for a wrong result, one line each. */
const leftOut: string[] = [];

/** Times `method` on every framework that has it, interleaved; GFLOP/s by framework name. */
async function measureConv(
  c: ConvCase,
  method: ConvMethod,
  x: HostTensor,
  w: HostTensor,
  flops: number,
): Promise<Record<string, number | undefined>> {
  const runners = everyone.filter((peer) => peer[method]);
  const workloads = runners.map((peer) => peer[method]!(x, w, c.options));
  const results: Record<string, number | undefined> = {};
  try {
    const timings = await timeInterleaved(workloads, timing);
    const exact = method === "conv2dTrain";
    const [reference, referenceName] = exact
      ? [sumConvGradients(c, x, w), "float64"]
      : [await workloads[0].read(), runners[0].name];
    for (const [i, peer] of runners.entries()) {
      const t = timings[i];
      const checked = exact || i > 0;
      const diff = checked ? relativeDifference(await workloads[i].read(), reference) : 0;
      results[peer.name] = gflops(flops, t.medianMs);
      console.error(
        `${c.label} ${method} ${peer.name}: median ${formatNumber(t.medianMs)} ms (min ${formatNumber(t.minMs)}) over ` +
          `${t.samplesMs.length} reps, ${formatNumber(results[peer.name])} GFLOP/s` +
          (checked ? `, max rel. diff vs ${referenceName} ${diff.toExponential(1)}` : ""),
      );
      if (diff > AGREEMENT) {
        leftOut.push(
          `${c.label} ${method === "conv2d" ? "forward" : "f+b"}: ${peer.name} (${formatNumber(results[peer.name])} GFLOP/s) ` +
            `is left out: its result differs from ${referenceName}'s by ${diff.toExponential(1)} (max rel.)`,
        );
        console.error(`  warning: ${leftOut.at(-1)}`);
        results[peer.name] = undefined;
      }
    }
  } finally {
    for (const workload of workloads) workload.dispose();
  }
  return results;
}

const forwardRows = [];
const trainRows = [];
for (const c of parts.includes("conv") ? CASES : []) {
  const x = randomHost([batch, ...c.input], 1);
  const w = randomHost(c.weight, 2);
  const flops = forwardFlops(c);
  forwardRows.push({ label: c.label, values: await measureConv(c, "conv2d", x, w, flops) });
  trainRows.push({ label: c.label, values: await measureConv(c, "conv2dTrain", x, w, 3 * flops) });
}

const comparison = (rows: { label: string; values: Record<string, number | undefined> }[]) =>
  comparisonTable({
    label: `shape (batch ${batch})`,
    unit: "GFLOP/s",
    higherIsBetter: true,
    ours: ours.name,
    peers: peers.map((p: Peer) => p.name),
    rows,
  });
if (forwardRows.length > 0) {
  console.log(`\nconv2d forward, GFLOP/s (2·N·O·OH·OW·C·KH·KW; median; ratios above 1 mean ${ours.name} is faster)\n`);
  console.log(comparison(forwardRows));
  console.log(`\nconv2d forward + input and weight gradients, GFLOP/s (3 × forward FLOPs; median)\n`);
  console.log(comparison(trainRows));
  if (leftOut.length > 0) console.log(`\nwrong results:\n${leftOut.map((line) => `  ${line}`).join("\n")}`);
}

// ---- ResNet-18 throughput (Harmonize) ----

/** Eval-mode logits of `images`, one batch per repetition. */
function forwardWorkload(model: Model, images: Tensor): Workload {
  let logits: Tensor | null = null;
  return {
    run() {
      logits?.dispose();
      logits = tidy(() => model.forward(images));
    },
    sync: () => engine.backend.sync(),
    read: async () => {
      if (!logits) throw new Error("resnet forward: read() before run()");
      return await logits.floats();
    },
    dispose() {
      logits?.dispose();
      logits = null;
    },
  };
}

/** One plain cross-entropy step with SGD per repetition (forward, backward, parameter update). */
function stepWorkload(model: Model, data: Batch): Workload {
  const optimizer = new Sgd(model.namedParameters());
  let result: StepResult | null = null;
  return {
    run() {
      dispose(result);
      result = trainStep(model, optimizer, data, { mode: "plain", lr: LEARNING_RATE, classes: RESNET_CLASSES });
    },
    sync: () => engine.backend.sync(),
    read: async () => {
      if (!result) throw new Error("resnet step: read() before run()");
      return new Float32Array([await result.parts.total.item()]);
    },
    dispose() {
      dispose(result);
      result = null;
      optimizer.dispose();
    },
  };
}

const resnetRows: string[][] = [];
for (const size of resnetSizes) {
  const model = createModel({ arch: "resnet", preset: "resnet18", classes: RESNET_CLASSES });
  const images = randomHost([batch, 3, size, size], 3);
  const labels = Array.from({ length: batch }, (_, i) => (i * 7) % RESNET_CLASSES);
  const data: Batch = {
    images: tensor(images.data, images.shape),
    // The plain step reads neither heatmaps nor tokens; they only complete the batch.
    heatmaps: tensor(new Float32Array(batch * size * size), [batch, size, size]),
    labels: tensor(new Int32Array(labels), [batch], "int32"),
    tokens: tensor(new Float32Array(batch), [batch]),
  };
  try {
    model.eval();
    const forward = forwardWorkload(model, data.images);
    const forwardTiming = await timeWorkload(forward, timing);
    forward.dispose();
    const step = stepWorkload(model, data);
    const stepTiming = await timeWorkload(step, timing);
    const loss = (await step.read())[0];
    step.dispose();
    if (!Number.isFinite(loss)) throw new Error(`resnet18 ${size}×${size}: the training step's loss is ${loss}`);
    console.error(
      `resnet18 ${size}×${size}: forward median ${formatNumber(forwardTiming.medianMs)} ms over ${forwardTiming.samplesMs.length} reps, ` +
        `train step median ${formatNumber(stepTiming.medianMs)} ms over ${stepTiming.samplesMs.length} reps (loss ${formatNumber(loss)})`,
    );
    resnetRows.push([
      `${size}×${size}`,
      formatNumber(forwardTiming.medianMs),
      formatNumber((batch * 1000) / forwardTiming.medianMs),
      formatNumber(stepTiming.medianMs),
      formatNumber((batch * 1000) / stepTiming.medianMs),
    ]);
  } finally {
    dispose(data);
    model.dispose();
  }
}
if (resnetRows.length > 0) {
  console.log(`\nResNet-18 (${RESNET_CLASSES} classes) on ${ours.name}, batch ${batch}: eval forward and one plain CE + SGD step (median)\n`);
  console.log(formatTable(["input", "forward ms", "forward images/s", "train step ms", "train images/s"], resnetRows));
}
