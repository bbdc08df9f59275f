/**
 * Harmonized training end to end: ClickMe-format JPEG TFRecord shards (the embedded dataset)
 * through the real loader into a tiny ResNet and a tiny ViT; the loss parts go down over repeated
 * steps on one batch, the evaluation reports accuracy and alignment, and no GPU memory leaks.
 */
import * as h from "../../src/mod.ts";
import { createModel, type ModelConfig } from "../../src/models/mod.ts";
import { Loader } from "../../src/data/loader.ts";
import { bytesSource } from "../../src/data/source.ts";
import { synthShards } from "../../src/data/synthetic.ts";
import { gpuBatches } from "../../src/data/gpu_batches.ts";
import { evaluate } from "../../src/harmonize/evaluate.ts";
import { type OptimizerConfig, Run, type StepEvent } from "../../src/run/mod.ts";
import { assert, test } from "../harness.ts";

const SIZE = 16;
const CLASSES = 3;

async function loader(split: "train" | "val"): Promise<Loader> {
  const shards = await synthShards({ split, size: SIZE, classes: CLASSES, shortcut: true, shards: 1, recordsPerShard: 8, seed: 3 });
  return new Loader({
    datasets: [{ shards: shards.map((s) => bytesSource(s.bytes, s.name)) }],
    batchSize: 8,
    workers: 0,
    preprocess: { size: SIZE, blurSize: SIZE },
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const CASES: [string, ModelConfig, OptimizerConfig, number][] = [
  [
    "tiny ResNet (SGD, Nesterov)",
    { arch: "resnet", block: "basic", layers: [1, 1], widths: [8, 16], classes: CLASSES, stemKernel: 3, stemStride: 1, stemPool: true },
    { name: "sgd", momentum: 0.9, nesterov: true },
    0.01,
  ],
  [
    "tiny ViT (AdamW)",
    { arch: "vit", imageSize: SIZE, patchSize: 4, width: 16, depth: 1, heads: 2, mlpWidth: 32, classes: CLASSES },
    { name: "adamw", weightDecay: 0 },
    2e-3,
  ],
];

for (const [name, config, optimizer, lr] of CASES) {
  test(`harmonized training of a ${name} on ClickMe-format shards lowers every loss part`, async () => {
    await h.init();
    const [train, val] = [await loader("train"), await loader("val")];
    // Everything the run creates (models, optimizer state) is freed by dispose; nothing may stay.
    const baseline = h.memory().liveBytes;
    const run = await Run.start({
      config: {
        seed: 0, members: [{ name: "harmonized", mode: "harmonized" }], model: config, classes: CLASSES, imageSize: SIZE, batchSize: 8,
        optimizer, schedule: { kind: "constant", base: lr }, loss: { harmonization: 1, weightDecay: 1e-5 }, totalSteps: 16,
        evalEvery: 0, checkpointEvery: 0,
      },
      data: { epoch: () => train, stepsPerEpoch: () => 1 }, // one batch, never resumed
    });
    const steps: StepEvent[] = [];
    run.on((e) => e.type === "step" && steps.push(e));
    await run.train();
    const model = run.members[0].model;
    const first = steps.slice(0, 4);
    const last = steps.slice(-4);
    for (const part of ["total", "crossEntropy", "harmonization"] as const) {
      const before = mean(first.map((s) => s[part]));
      const after = mean(last.map((s) => s[part]));
      assert(after < before, `${part} went from ${before.toFixed(4)} to ${after.toFixed(4)}: ${steps.map((s) => s[part].toFixed(3))}`);
    }
    const report = await evaluate(model, gpuBatches(val), CLASSES);
    assert(report.images === 8 && report.mapped === 8, `evaluated ${report.images} images, ${report.mapped} with maps`);
    for (const key of ["accuracy", "dice", "iou"] as const) {
      assert(report[key] >= 0 && report[key] <= 1, `${key} ${report[key]}`);
    }
    assert(Number.isFinite(report.alignmentScore) && Math.abs(report.spearman) <= 1, `alignment ${JSON.stringify(report)}`);
    await run.close();
    run.dispose();
    assert(h.memory().liveBytes <= baseline, `live bytes ${h.memory().liveBytes} > ${baseline} after training`);
  });
}
