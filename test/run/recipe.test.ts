/** The main job's recipe builds a valid run: config sized from the recipe, data drawn as it says. */
import { checkRunConfig } from "../../src/run/config.ts";
import { MAIN_RECIPE, recipeData, recipeRunConfig, recipeSteps } from "../../src/run/recipe.ts";
import { assert, assertEquals, test } from "../harness.ts";

test("run recipe: the run config carries the recipe, the seed and the steps of its epochs", () => {
  const config = recipeRunConfig(MAIN_RECIPE, { seed: 3 });
  checkRunConfig(config);
  assertEquals(config.totalSteps, Math.floor(MAIN_RECIPE.trainRecords / MAIN_RECIPE.batchSize) * MAIN_RECIPE.epochs);
  assertEquals(config.totalSteps, recipeSteps(MAIN_RECIPE));
  assertEquals(config.members.map((m) => m.mode), ["plain", "harmonized"]);
  assertEquals([config.model.classes, config.model.seed, config.seed], [MAIN_RECIPE.classes, 3, 3]);
  assertEquals(config.loss, MAIN_RECIPE.loss);
});

test("run recipe: the data holds the recipe's images, at its size, in whole batches", async () => {
  const recipe = { ...MAIN_RECIPE, trainRecords: 64, validationRecords: 24 };
  const data = await recipeData(recipe, 1, 0);
  assertEquals(data.stepsPerEpoch(recipe.batchSize), 64 / recipe.batchSize);
  let train = 0;
  for await (const batch of data.epoch(0, recipe.batchSize, 0)) {
    assertEquals(batch.imageShape, [recipe.batchSize, 3, recipe.imageSize, recipe.imageSize]);
    assert(batch.labels.every((l) => l >= 0 && l < recipe.classes), "labels in range");
    train += batch.size;
  }
  assertEquals(train, 64);
  let validation = 0;
  for await (const batch of data.validation!()) validation += batch.size;
  assertEquals(validation, 24);
});
