// The --model argument of the commands that build a model (train, import): a preset name or a
// JSON model config file. MODEL_PRESETS is the one table of preset names; usage texts list it.

import { type ModelConfig, RESNET_PRESETS, VIT_PRESETS, type VitPreset } from "../models/mod.ts";
import { MAIN_RECIPE } from "../run/recipe.ts";
import { fileErrorReason, UsageError } from "./command.ts";

/** timm's ViTs under short names; their timm names are presets too. */
const VIT_SHORT_NAMES: Record<string, VitPreset> = {
  "vit-ti": "vit_tiny_patch16_224",
  "vit-s": "vit_small_patch16_224",
  "vit-b": "vit_base_patch16_224",
};

/**
 * A preset's model config for images of `imageSize` pixels (ViTs only; by default a tiny ViT is
 * sized for the recipe's images and timm's for 224), without classes or seed.
 */
type Preset = (imageSize?: number) => ModelConfig;

const vitPreset = (preset: VitPreset): Preset => (imageSize) => ({ arch: "vit", preset, ...(imageSize ? { imageSize } : {}) });

export const MODEL_PRESETS: Readonly<Record<string, Preset>> = {
  "tiny-resnet": () => ({ arch: "resnet", block: "basic", layers: [1, 1, 1], widths: [16, 32, 64], stemKernel: 3, stemStride: 1, stemPool: true }),
  "tiny-vit": (size = MAIN_RECIPE.imageSize) => ({ arch: "vit", imageSize: size, patchSize: Math.max(2, size / 8), width: 64, depth: 4, heads: 4 }),
  ...Object.fromEntries(Object.keys(RESNET_PRESETS).map((preset) => [preset, () => ({ arch: "resnet", preset }) as ModelConfig])),
  ...Object.fromEntries(Object.entries(VIT_SHORT_NAMES).map(([name, preset]) => [name, vitPreset(preset)])),
  ...Object.fromEntries(Object.keys(VIT_PRESETS).map((preset) => [preset, vitPreset(preset as VitPreset)])),
};

/** The preset names for a usage text, timm's ViT names beside their short ones. */
export function presetList(): string {
  const timmNames = new Set(Object.values(VIT_SHORT_NAMES));
  return Object.keys(MODEL_PRESETS)
    .filter((name) => !timmNames.has(name as VitPreset))
    .map((name) => (name in VIT_SHORT_NAMES ? `${name} (${VIT_SHORT_NAMES[name]})` : name))
    .join(", ");
}

/** The model config --model names: a preset (at `imageSize`, for ViTs) or a JSON file. */
export async function modelArgument(name: string, imageSize?: number): Promise<ModelConfig> {
  if (Object.hasOwn(MODEL_PRESETS, name)) return MODEL_PRESETS[name](imageSize);
  if (!name.endsWith(".json")) throw new UsageError(`--model must be a preset (${presetList()}) or a .json model config, got ${name}`);
  return await readModelConfig(name);
}

/** A JSON model config file (--model); a file that is missing or not JSON is one line naming it. */
export async function readModelConfig(path: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`${path}: ${fileErrorReason(e)} (--model)`);
  }
  try {
    return JSON.parse(text) as ModelConfig;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message}) (--model)`);
  }
}
