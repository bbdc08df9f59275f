/**
 * The models and the JSON model-config schema shared by the CLI and the demos:
 *   { "arch": "resnet", "preset"?: "resnet18" | "resnet34" | "resnet50", ...ResNetConfig fields }
 *   { "arch": "vit", "preset"?: "vit_tiny_patch16_224" | …, ...VitConfig fields }
 * With a preset, the other fields override it (e.g. `classes`); without one, the required fields
 * of the config must be given. Unknown keys are errors. See docs/models.md#json-model-configs.
 */
import { resnet, RESNET_PRESETS, type ResNet, type ResNetConfig, type ResNetPreset } from "./resnet.ts";
import { vit, VIT_PRESETS, type VisionTransformer, type VitConfig, type VitPreset } from "./vit.ts";

export { BasicBlock, Bottleneck, resnet, ResNet, RESNET_PRESETS, type ResNetConfig, type ResNetPreset } from "./resnet.ts";
export { Block, PatchEmbed, vit, VIT_PRESETS, VisionTransformer, type VitConfig, type VitPreset } from "./vit.ts";
export { bicubicMatrix, resamplePositionEmbedding } from "./pos_embed.ts";

export type ModelConfig =
  | ({ arch: "resnet"; preset?: ResNetPreset } & Partial<ResNetConfig>)
  | ({ arch: "vit"; preset?: VitPreset } & Partial<VitConfig>);

export type Model = ResNet | VisionTransformer;

/** Builds a model from a config object (e.g. parsed JSON); errors name the offending key. */
export function createModel(config: ModelConfig): Model {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error(`createModel: a model config must be a JSON object, got ${JSON.stringify(config)}`);
  }
  const { preset, ...fields } = config;
  if (config.arch === "resnet") {
    if (preset === undefined) return resnet(fields as ResNetConfig);
    if (!(preset in RESNET_PRESETS)) throw unknownPreset("resnet", preset, RESNET_PRESETS);
    return resnet(preset as ResNetPreset, fields as Partial<ResNetConfig>);
  }
  if (config.arch === "vit") {
    if (preset === undefined) return vit(fields as VitConfig);
    if (!(preset in VIT_PRESETS)) throw unknownPreset("vit", preset, VIT_PRESETS);
    return vit(preset as VitPreset, fields as Partial<VitConfig>);
  }
  throw new Error(`createModel: "arch" must be "resnet" or "vit", got ${JSON.stringify((config as { arch?: unknown }).arch)}`);
}

/** Parses a JSON model config; `source` (a file name) prefixes every error. */
export function modelFromJson(text: string, source = "model config"): Model {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return createModel(config as ModelConfig);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
}

function unknownPreset(arch: string, preset: unknown, presets: object): Error {
  return new Error(`createModel: unknown ${arch} preset ${JSON.stringify(preset)} (known: ${Object.keys(presets).join(", ")})`);
}
