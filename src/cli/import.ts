// `harmonize import STATE_DICT --model M --out FILE`: a PyTorch or timm state dict in safetensors
// as a Harmonize model file (weights + "config" metadata) that harmonize eval reads.

import { init } from "../engine.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../io/safetensors.ts";
import { createModel, type ModelConfig } from "../models/mod.ts";
import { loadPyTorchStateDict } from "../models/pytorch_state_dict.ts";
import { MAIN_RECIPE } from "../run/recipe.ts";
import { checkFlags, type Command, intFlag, parseArgs, stringFlag, UsageError } from "./command.ts";
import { modelArgument, presetList } from "./model_config.ts";

const USAGE = `usage: harmonize import STATE_DICT.safetensors --model PRESET|CONFIG.json --out MODEL.safetensors [--classes K]

Loads a PyTorch state dict saved as safetensors (torchvision ResNet or timm ViT names; F32, F64, F16
or BF16 floats, int64 counters; a "module." prefix is dropped) into the model --model describes, and
writes it with the model config as metadata, ready for harmonize eval. A file
with parameters only (no BatchNorm running statistics) loads with a note.

  --model M      a preset (ViTs at 224 px, tiny-vit at ${MAIN_RECIPE.imageSize}): ${presetList()};
                 or a JSON model config (docs/models.md)
  --classes K    classifier outputs (default: read from the file's fc / head weight)
  --out FILE     the Harmonize model file to write`;

/** fc.weight (torchvision) or head.weight (timm) rows: the classes the file was trained for. */
function classesOf(tensors: Map<string, { shape: number[] }>): number | undefined {
  return (tensors.get("fc.weight") ?? tensors.get("head.weight") ?? tensors.get("module.fc.weight") ?? tensors.get("module.head.weight"))?.shape[0];
}

async function modelConfig(name: string, classes: number | undefined): Promise<ModelConfig> {
  const config = await modelArgument(name);
  return classes !== undefined ? { ...config, classes } as ModelConfig : config;
}

export const importCommand: Command = {
  summary: "load a PyTorch/timm state dict (safetensors) into a model config and write it as a Harmonize model file",
  usage: USAGE,
  async run(args) {
    const parsed = parseArgs(args);
    checkFlags(parsed, ["model", "out", "classes"]);
    if (parsed.positional.length !== 1) throw new UsageError(`give exactly one STATE_DICT.safetensors, got ${parsed.positional.length}`);
    const modelName = stringFlag(parsed, "model");
    const out = stringFlag(parsed, "out");
    if (!modelName) throw new UsageError("--model PRESET|CONFIG.json is required");
    if (!out) throw new UsageError("--out MODEL.safetensors is required");
    const source = parsed.positional[0];
    const file = await readSafetensorsFile(source);
    const classes = parsed.flags.has("classes") ? intFlag(parsed, "classes", 0) : classesOf(file.tensors);
    const config = await modelConfig(modelName, classes);
    await init();
    let model;
    try {
      model = createModel(config);
    } catch (e) {
      throw new UsageError(`--model ${modelName}: ${(e as Error).message}`);
    }
    try {
      const { notes } = loadPyTorchStateDict(model, file.tensors, source);
      for (const note of notes) console.error(`note: ${note}`);
      await writeSafetensorsFile(out, await model.hostStateDict(), { config: JSON.stringify(config), importedFrom: source });
      console.log(`wrote ${out}: ${model.namedState().length} tensors of ${modelName} (${model.config.classes} classes) from ${source}`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
