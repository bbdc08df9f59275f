/**
 * The lab's default settings: the main job's recipe (src/run/recipe.ts) as it is, which a laptop GPU
 * should train in well under a minute (an estimate: docs/browser.md, "How long the default run takes").
 * Evaluation and autosave twice an epoch.
 */
import { MAIN_RECIPE, recipeSteps } from "../../src/run/recipe.ts";
import type { LabSettings } from "./protocol.ts";

const steps = recipeSteps(MAIN_RECIPE);
const perEpoch = steps / MAIN_RECIPE.epochs;

export const DEFAULT_SETTINGS: LabSettings = {
  seed: 0,
  records: MAIN_RECIPE.trainRecords,
  model: "resnet",
  lambdaH: MAIN_RECIPE.loss.harmonization,
  lr: MAIN_RECIPE.schedule.base,
  batchSize: MAIN_RECIPE.batchSize,
  steps,
  evalEvery: Math.max(1, Math.floor(perEpoch / 2)),
  autosaveEvery: Math.max(1, Math.floor(perEpoch / 2)),
};
