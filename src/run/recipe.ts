/**
 * The main job's recipe (`npm start`, the browser lab, `bench/recipe`): one plain object with
 * everything that decides what a plain and a harmonized model learn from the embedded dataset
 * (`src/run/dataset.ts` draws that dataset and its batches with the recipe's options).
 * Chosen so that, over seeds, the harmonized model is clearly better aligned with the human maps
 * at no cost in accuracy on shortcut-free images (docs/benchmarks.md, "The main job's recipe").
 */
import type { AugmentOptions } from "../data/augment.ts";
import type { SynthOptions } from "../data/synthetic.ts";
import type { ModelConfig } from "../models/mod.ts";
import { BOTH_MEMBERS, type LossConfig, type MemberSpec, type OptimizerConfig, type RunConfig, type ScheduleConfig } from "./config.ts";

/** How the embedded dataset is drawn (its split, size, classes and seed come from the recipe and the run). */
export type EmbeddedDataOptions = Omit<SynthOptions, "split" | "size" | "classes" | "seed">;

export interface Recipe {
  /** A model config without `classes` and `seed` (the recipe and the run set them). */
  model: ModelConfig;
  classes: number;
  /** Side of the square images and human maps. */
  imageSize: number;
  /** Embedded training images (a multiple of the batch size); validation draws `validationRecords`. */
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
  trainRecords: 512,
  validationRecords: 512,
  data: { shortcut: true, shortcutCorrelation: 1 },
  // Crops keep most of the image: the corner mark stays in view often enough to tempt the plain
  // model, and the object (the part, the human map) is never cut away.
  augment: { scale: [0.6, 1], ratio: [3 / 4, 4 / 3], flip: true },
  batchSize: 32,
  epochs: 5,
  optimizer: { name: "sgd", momentum: 0.9, nesterov: true },
  schedule: { kind: "cosine", base: 0.05, warmupSteps: 5 },
  loss: { harmonization: 1.5, weightDecay: 1e-5 },
};

/** Training steps of the recipe: whole batches per epoch, times the epochs. */
export function recipeSteps(recipe: Recipe): number {
  return Math.floor(recipe.trainRecords / recipe.batchSize) * recipe.epochs;
}

export interface RecipeRunOptions {
  seed: number;
  members?: MemberSpec[];
  /** Evaluate every this many steps (default 0: at each epoch's end). */
  evalEvery?: number;
  checkpointEvery?: number;
}

/** The run config of the recipe for one seed (the seed also draws the model's initial weights). */
export function recipeRunConfig(recipe: Recipe, options: RecipeRunOptions): RunConfig {
  return {
    seed: options.seed,
    members: options.members ?? BOTH_MEMBERS,
    model: { ...recipe.model, classes: recipe.classes, seed: options.seed } as ModelConfig,
    classes: recipe.classes,
    imageSize: recipe.imageSize,
    batchSize: recipe.batchSize,
    optimizer: recipe.optimizer,
    schedule: recipe.schedule,
    loss: recipe.loss,
    totalSteps: recipeSteps(recipe),
    evalEvery: options.evalEvery ?? 0,
    checkpointEvery: options.checkpointEvery ?? 0,
  };
}
