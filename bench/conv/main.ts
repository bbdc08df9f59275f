/**
 * conv2d at ResNet shapes, forward and forward+backward (Σ conv2d(x, w) with its gradients w.r.t.
 * x and w), in GFLOP/s for Harmonize and its WebGPU peers on the same adapter in one run, with
 * ratios; each peer's result is cross-checked against Harmonize's. Then ResNet-18 throughput
 * (Harmonize only): eval-mode forward and one plain cross-entropy SGD training step, in images/s.
 *
 *   deno task bench:conv [--quick] [--batch 8] [--peers tfjs,jax-js] [--resnet-sizes 64,224]
 *                        [--warmup 1] [--reps 3] [--budget 10]
 *
 * --quick times one repetition of everything after one warm-up and ResNet-18 at 64×64 only.
 */
import { parseArgs } from "node:util";
import { dispose, type Tensor, tensor, tidy } from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import { createModel, type Model } from "../../src/models/mod.ts";
import { Sgd } from "../../src/harmonize/optimizers.ts";
import { type Batch, type StepResult, trainStep } from "../../src/harmonize/train_step.ts";
import {
  COMMON_OPTIONS, comparisonTable, environmentReport, formatNumber, formatTable, gflops, intOption, listOption,
  randomHost, relativeDifference, timeInterleaved, timeWorkload, timingOptions,
} from "../lib.ts";
import { type ConvOptions, type HostTensor, openPeers, type Peer, type Workload } from "../peers/mod.ts";

/**
 * float32 results of different kernels differ by rounding only (the weight gradient sums
 * N·OH·OW ≈ 25 000 products per entry); more means a wrong result.
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
    batch: { type: "string", default: "8" },
    "resnet-sizes": { type: "string", default: "64,224" },
  },
});
const quick = values.quick;
const batch = intOption("batch", values.batch);
const timing = quick ? { ...timingOptions(values), warmup: 1, reps: 1, minReps: 1 } : timingOptions(values);
const resnetSizes = listOption(quick ? "64" : values["resnet-sizes"]).map((s) => intOption("resnet-sizes", s));
const { ours, peers } = await openPeers(listOption(values.peers));
const everyone = [ours, ...peers];
console.log(environmentReport(everyone));
console.log(`batch ${batch}; warm-up ${timing.warmup}, ${timing.reps} reps at most, ${timing.budgetSeconds} s budget per case`);

/** 2·N·O·OH·OW·C·KH·KW: the multiply-adds of one forward convolution. */
function forwardFlops({ input: [c, h, w], weight: [o, , kh, kw], options: { stride, padding } }: ConvCase): number {
  const oh = Math.floor((h + 2 * padding - kh) / stride) + 1;
  const ow = Math.floor((w + 2 * padding - kw) / stride) + 1;
  return 2 * batch * o * oh * ow * c * kh * kw;
}

type ConvMethod = "conv2d" | "conv2dTrain";

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
    const reference = await workloads[0].read();
    for (const [i, peer] of runners.entries()) {
      const t = timings[i];
      const diff = relativeDifference(await workloads[i].read(), reference);
      results[peer.name] = gflops(flops, t.medianMs);
      console.error(
        `${c.label} ${method} ${peer.name}: median ${formatNumber(t.medianMs)} ms (min ${formatNumber(t.minMs)}) over ` +
          `${t.samplesMs.length} reps, ${formatNumber(results[peer.name])} GFLOP/s` +
          (i === 0 ? "" : `, max rel. diff vs ${runners[0].name} ${diff.toExponential(1)}`),
      );
      if (diff > AGREEMENT) {
        console.error(`  warning: ${peer.name} disagrees with ${runners[0].name}; its number is left out`);
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
for (const c of CASES) {
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
console.log(`\nconv2d forward, GFLOP/s (2·N·O·OH·OW·C·KH·KW; median; ratios above 1 mean ${ours.name} is faster)\n`);
console.log(comparison(forwardRows));
console.log(`\nconv2d forward + input and weight gradients, GFLOP/s (3 × forward FLOPs; median)\n`);
console.log(comparison(trainRows));

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
