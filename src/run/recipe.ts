/**
 * The main job's recipe (`npm start`, the browser lab, `bench/recipe`): one plain object with
 * everything that decides what a plain and a harmonized model learn from the embedded dataset.
 * Chosen so that, over seeds, the harmonized model is clearly better aligned with the human maps
 * at no cost in accuracy on shortcut-free images (docs/benchmarks.md, "The main job's recipe").
 */
import type { AugmentOptions } from "../data/augment.ts";
import type { SynthOptions } from "../data/synthetic.ts";
import type { ModelConfig } from "../models/mod.ts";
import type { LossConfig, OptimizerConfig, ScheduleConfig } from "./config.ts";

/** How the embedded dataset is drawn (its split, size, classes and seed come from the run). */
export type EmbeddedDataOptions = Omit<SynthOptions, "split" | "size" | "classes" | "seed">;

export interface Recipe {
  /** A model config without `classes` and `seed` (the run sets them). */
  model: ModelConfig;
  classes: number;
  /** Side of the square images and human maps. */
  imageSize: number;
  /** Embedded training images; validation has `validationRecords`. */
  trainRecords: number;
  validationRecords: number;
  data: EmbeddedDataOptions;
  /** Training augmentation, applied alike to image and map. */
  augment: AugmentOptions | false;
  batchSize: number;
  epochs: number;
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  loss: LossConfig;
}

export const MAIN_RECIPE: Recipe = {
  model: { arch: "resnet", block: "basic", layers: [1, 1, 1], widths: [16, 32, 64], stemKernel: 3, stemStride: 1, stemPool: true },
  classes: 4,
  imageSize: 32,
  trainRecords: 1024,
  validationRecords: 256,
  data: { shortcut: true, shortcutCorrelation: 0.9 },
  augment: { scale: [0.08, 1], ratio: [3 / 4, 4 / 3], flip: true },
  batchSize: 32,
  epochs: 4,
  optimizer: { name: "sgd", momentum: 0.9, nesterov: true },
  schedule: { kind: "cosine", base: 0.05, warmupSteps: 5 },
  loss: { harmonization: 1, weightDecay: 1e-5 },
};

/** Training steps of the recipe: whole batches per epoch, times the epochs. */
export function recipeSteps(recipe: Recipe): number {
  return Math.floor(recipe.trainRecords / recipe.batchSize) * recipe.epochs;
}
