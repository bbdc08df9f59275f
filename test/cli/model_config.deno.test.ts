/**
 * The --model argument: one table of presets (MODEL_PRESETS) that harmonize train and harmonize
 * import both read and list, every name a valid model; a bad name or file is one clear error.
 */
import { checkModelConfig } from "../../src/models/mod.ts";
import { importCommand } from "../../src/cli/import.ts";
import { trainCommand } from "../../src/cli/train.ts";
import { MODEL_PRESETS, modelArgument, presetList } from "../../src/cli/model_config.ts";
import { UsageError } from "../../src/cli/command.ts";
import { assert, assertEquals, assertRejects, test } from "../harness.ts";

test("cli model presets: every name is a valid model, ViTs at the image size asked for, timm's names beside the short ones", async () => {
  for (const name of Object.keys(MODEL_PRESETS)) {
    for (const size of [undefined, 32]) {
      const { config } = checkModelConfig({ ...(await modelArgument(name, size)), classes: 3 });
      if ("imageSize" in config && size !== undefined) assertEquals(config.imageSize, size, `${name} at ${size}`);
    }
  }
  assertEquals(await modelArgument("vit-s", 64), await modelArgument("vit_small_patch16_224", 64));
  assertEquals(await modelArgument("resnet50"), { arch: "resnet", preset: "resnet50" });
});

test("cli model presets: harmonize train and harmonize import list the same presets", () => {
  for (const command of [trainCommand, importCommand]) {
    const usage = command.usage.replace(/\s+/g, " ");
    assert(usage.includes(presetList()), `${usage.slice(0, 200)}… lists ${presetList()}`);
  }
  for (const name of Object.keys(MODEL_PRESETS)) assert(presetList().includes(name), name);
});

test("cli model presets: an unknown name is a usage error listing the presets; a missing or broken file names it and --model", async () => {
  const unknown = await assertRejects(() => modelArgument("resnet19"), /--model must be a preset \(tiny-resnet, .*\) or a \.json model config, got resnet19/);
  assert(unknown instanceof UsageError, "usage error");
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(() => modelArgument(`${dir}/missing.json`), new RegExp(`^${dir}/missing\\.json: no such file or directory \\(--model\\)$`));
    await Deno.writeTextFile(`${dir}/broken.json`, "{");
    await assertRejects(() => modelArgument(`${dir}/broken.json`), new RegExp(`^${dir}/broken\\.json: not valid JSON \\(.*\\) \\(--model\\)$`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
