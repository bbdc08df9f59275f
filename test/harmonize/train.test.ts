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
import { fit } from "../../src/harmonize/fit.ts";
import { evaluate } from "../../src/harmonize/evaluate.ts";
import { AdamW, type Optimizer, Sgd } from "../../src/harmonize/optimizers.ts";
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

const CASES: [string, ModelConfig, (m: ReturnType<typeof createModel>) => Optimizer, number][] = [
  [
    "tiny ResNet (SGD, Nesterov)",
    { arch: "resnet", block: "basic", layers: [1, 1], widths: [8, 16], classes: CLASSES, stemKernel: 3, stemStride: 1, stemPool: true },
    (m) => new Sgd(m.namedParameters(), { momentum: 0.9, nesterov: true }),
    0.01,
  ],
  [
    "tiny ViT (AdamW)",
    { arch: "vit", imageSize: SIZE, patchSize: 4, width: 16, depth: 1, heads: 2, mlpWidth: 32, classes: CLASSES },
    (m) => new AdamW(m.namedParameters(), { weightDecay: 0 }),
    2e-3,
  ],
];

for (const [name, config, makeOptimizer, lr] of CASES) {
  test(`harmonized training of a ${name} on ClickMe-format shards lowers every loss part`, async () => {
    await h.init();
    const [train, val] = [await loader("train"), await loader("val")];
    const model = createModel(config);
    const optimizer = makeOptimizer(model);
    const baseline = h.memory().liveBytes;
    const history = await fit({
      model, optimizer, train: () => gpuBatches(train), epochs: 16, schedule: () => lr, mode: "harmonized", classes: CLASSES,
    });
    const steps = history.steps;
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
    // Optimizer state is the only growth: one momentum/moment tensor set per parameter.
    optimizer.dispose();
    assert(h.memory().liveBytes <= baseline, `live bytes ${h.memory().liveBytes} > ${baseline} after training`);
    model.dispose();
  });
}
