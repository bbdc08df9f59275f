// `harmonize train`: harmonized (or plain) training of a model on ClickMe-format shards — by
// default the embedded synthetic dataset — with evaluation after each epoch and an atomic checkpoint.

import { init } from "../engine.ts";
import { writeSafetensorsFile } from "../io/safetensors.ts";
import { createModel, type ModelConfig } from "../models/mod.ts";
import { gpuBatches } from "../data/gpu_batches.ts";
import { Loader, type DatasetSpec } from "../data/loader.ts";
import { bytesSource } from "../data/source.ts";
import { synthShards } from "../data/synthetic.ts";
import { INCEPTION_AUGMENT } from "../data/augment.ts";
import type { ShardInput } from "../data/shard_list.ts";
import { fit } from "../harmonize/fit.ts";
import { AdamW, type Optimizer, Sgd } from "../harmonize/optimizers.ts";
import { cosineSchedule } from "../harmonize/schedules.ts";
import { checkFlags, type Command, intFlag, numberFlag, parseArgs, type ParsedArgs, stringFlag, UsageError } from "./command.ts";
import { readModelConfig } from "./model_config.ts";

const FLAGS = [
  "model", "train", "val", "images", "images-weight", "size", "classes", "synthetic-records", "epochs", "batch-size",
  "lr", "optimizer", "momentum", "weight-decay", "mode", "lambda-h", "lambda-w", "clip", "seed", "out", "workers",
];

function listFlag(parsed: ParsedArgs, name: string): string[] {
  const value = stringFlag(parsed, name);
  return value ? value.split(",").map((s) => s.trim()).filter(Boolean) : [];
}

function choice<T extends string>(parsed: ParsedArgs, name: string, options: readonly T[], fallback: T): T {
  const value = stringFlag(parsed, name, fallback)!;
  if (!options.includes(value as T)) throw new UsageError(`--${name} must be one of ${options.join(", ")}, got ${value}`);
  return value as T;
}

/** A small ResNet sized for the embedded dataset. */
function defaultModel(classes: number): ModelConfig {
  return { arch: "resnet", block: "basic", layers: [1, 1, 1], widths: [16, 32, 64], classes, stemKernel: 3, stemStride: 1, stemPool: true };
}

async function syntheticShards(split: "train" | "val", size: number, classes: number, records: number, seed: number): Promise<ShardInput[]> {
  const shards = await synthShards({ split, size, classes, shortcut: true, shards: 2, recordsPerShard: records, seed });
  return shards.map(({ name, bytes }) => bytesSource(bytes, name));
}

export const trainCommand: Command = {
  summary: "train a model with the harmonizer loss (default: a small ResNet on the embedded dataset)",
  async run(args) {
    const parsed = parseArgs(args);
    checkFlags(parsed, FLAGS);
    const size = intFlag(parsed, "size", 64);
    const seed = intFlag(parsed, "seed", 0);
    const epochs = intFlag(parsed, "epochs", 3);
    const batchSize = intFlag(parsed, "batch-size", 16);
    const workers = intFlag(parsed, "workers", 1);
    const mode = choice(parsed, "mode", ["harmonized", "plain"] as const, "harmonized");
    const optimizerName = choice(parsed, "optimizer", ["sgd", "adamw"] as const, "sgd");
    const trainShards = listFlag(parsed, "train");
    const synthetic = trainShards.length === 0;
    const classes = synthetic ? intFlag(parsed, "classes", 4) : intFlag(parsed, "classes", 1000);
    const config = stringFlag(parsed, "model") ? await readModelConfig(stringFlag(parsed, "model")!) : defaultModel(classes);
    const records = intFlag(parsed, "synthetic-records", 64);
    const images = listFlag(parsed, "images");
    // The share of plain labelled images in the mix (the reference: 0.8 ImageNet, 0.2 ClickMe).
    const imagesWeight = images.length ? numberFlag(parsed, "images-weight", 0.8) : 0;
    if (imagesWeight >= 1) throw new UsageError(`--images-weight must be below 1, got ${imagesWeight}`);
    const train: DatasetSpec[] = [{
      shards: synthetic ? await syntheticShards("train", size, classes, records, seed) : trainShards,
      weight: 1 - imagesWeight,
    }];
    if (images.length) train.push({ shards: images, layout: "images", weight: imagesWeight });
    const valShards = listFlag(parsed, "val");
    const validation: ShardInput[] = valShards.length ? valShards : synthetic ? await syntheticShards("val", size, classes, records / 2, seed) : [];
    const preprocess = { size, blurSize: Math.min(64, size) };

    const backend = await init();
    console.log(`device: ${backend.adapter.description}; model: ${JSON.stringify(config)}`);
    const model = createModel(config);
    if (model.config.classes !== classes) {
      model.dispose();
      throw new UsageError(`the model has ${model.config.classes} classes but the data ${classes} (--classes)`);
    }
    const parameters = model.namedParameters();
    const lr = numberFlag(parsed, "lr", optimizerName === "sgd" ? 0.05 : 1e-3);
    const optimizer: Optimizer = optimizerName === "sgd"
      ? new Sgd(parameters, { momentum: numberFlag(parsed, "momentum", 0.9), nesterov: true })
      : new AdamW(parameters, { weightDecay: numberFlag(parsed, "weight-decay", 0.05) });
    const trainLoader = new Loader({ datasets: train, batchSize, dropRemainder: true, shuffleBuffer: 256, seed, workers, preprocess, augment: INCEPTION_AUGMENT });
    const valLoader = validation.length ? new Loader({ datasets: [{ shards: validation }], batchSize, workers, preprocess }) : null;
    const stepsPerEpoch = synthetic ? Math.floor((2 * records) / batchSize) : 1000;
    const history = await fit({
      model,
      optimizer,
      train: () => gpuBatches(trainLoader),
      validation: valLoader ? () => gpuBatches(valLoader) : undefined,
      epochs,
      schedule: cosineSchedule({ base: lr, totalSteps: epochs * stepsPerEpoch, warmupSteps: Math.min(5, stepsPerEpoch) }),
      mode,
      classes,
      harmonization: numberFlag(parsed, "lambda-h", 1),
      weightDecay: numberFlag(parsed, "lambda-w", 1e-5),
      clipNorm: stringFlag(parsed, "clip") ? numberFlag(parsed, "clip", 0) : undefined,
      onStep: (s) =>
        console.log(`epoch ${s.epoch} step ${s.step} lr ${s.lr.toExponential(2)} loss ${s.total.toFixed(4)} ` +
          `(ce ${s.crossEntropy.toFixed(4)}, harm ${s.harmonization.toFixed(4)}, l2 ${s.weightL2.toFixed(1)})`),
      onEpoch: (epoch, r) => {
        if (!r) return;
        console.log(`epoch ${epoch} validation: accuracy ${(100 * r.accuracy).toFixed(1)}% on ${r.images} images; ` +
          `alignment ${r.alignmentScore.toFixed(3)} (ρ ${r.spearman.toFixed(3)}, dice ${r.dice.toFixed(3)}, iou ${r.iou.toFixed(3)}) on ${r.mapped} maps`);
      },
    });
    const out = stringFlag(parsed, "out");
    if (out) {
      await writeSafetensorsFile(out, await model.hostStateDict(), { config: JSON.stringify(config), steps: String(history.steps.length) });
      console.log(`wrote ${out}`);
    }
    optimizer.dispose();
    model.dispose();
    return 0;
  },
};
