/** The main job's recipe builds a valid run config, sized from the recipe. */
import { checkRunConfig } from "../../src/run/config.ts";
import { MAIN_RECIPE, recipeRunConfig, recipeSteps } from "../../src/run/recipe.ts";
import { assertEquals, test } from "../harness.ts";

test("run recipe: the run config carries the recipe, the seed and the steps of its epochs", () => {
  const config = recipeRunConfig(MAIN_RECIPE, { seed: 3 });
  checkRunConfig(config);
  assertEquals(config.totalSteps, Math.floor(MAIN_RECIPE.trainRecords / MAIN_RECIPE.batchSize) * MAIN_RECIPE.epochs);
  assertEquals(config.totalSteps, recipeSteps(MAIN_RECIPE));
  assertEquals(config.members.map((m) => m.mode), ["plain", "harmonized"]);
  assertEquals([config.model.classes, config.model.seed, config.seed], [MAIN_RECIPE.classes, 3, 3]);
  assertEquals(config.loss, MAIN_RECIPE.loss);
});
