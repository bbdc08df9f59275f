/**
 * The models and the JSON model-config schema shared by the CLI and the demos:
 *   { "arch": "resnet", "preset"?: "resnet18" | "resnet34" | "resnet50", ...ResNetConfig fields }
 *   { "arch": "vit", "preset"?: "vit_tiny_patch16_224" | …, ...VitConfig fields }
 * With a preset, the other fields override it (e.g. `classes`); without one, the required fields
 * of the config must be given. Unknown keys are errors. See docs/models.md#json-model-configs.
 */
import { brief, clip, isOwnKey } from "./config.ts";
import { resnet, RESNET_PRESETS, type ResNet, type ResNetConfig, type ResNetPreset, resolveResNetConfig, type ResolvedResNetConfig } from "./resnet.ts";
import { resolveVitConfig, type ResolvedVitConfig, vit, VIT_PRESETS, type VisionTransformer, type VitConfig, type VitPreset } from "./vit.ts";

export { BasicBlock, Bottleneck, resnet, ResNet, RESNET_PRESETS, type ResNetConfig, type ResNetPreset } from "./resnet.ts";
export { Block, PatchEmbed, vit, VIT_PRESETS, VisionTransformer, type VitConfig, type VitPreset } from "./vit.ts";
export { bicubicMatrix, resamplePositionEmbedding } from "./pos_embed.ts";

export type ModelConfig =
  | ({ arch: "resnet"; preset?: ResNetPreset } & Partial<ResNetConfig>)
  | ({ arch: "vit"; preset?: VitPreset } & Partial<VitConfig>);

export type Model = ResNet | VisionTransformer;

/**
 * Most parameters a config may ask for (2^30, 4 GiB of f32): they are allocated before anything
 * else could refuse them, so a forged `widths` or `imageSize` must stop here.
 */
export const MAX_MODEL_PARAMETERS = 2 ** 30;
/** Most blocks (ResNet blocks or ViT layers) in a config; ResNet-152 has 50, ViT-H 32. */
export const MAX_MODEL_BLOCKS = 1024;

/** A config with its preset applied, defaults filled in, every key checked and its size counted, without building it. */
export function checkModelConfig(config: ModelConfig): { config: ResolvedResNetConfig | ResolvedVitConfig; parameters: number } {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error(`createModel: a model config must be a JSON object, got ${brief(config)}`);
  }
  const { preset, ...fields } = config;
  const arch = (config as { arch?: unknown }).arch;
  if (arch === "resnet") {
    if (preset !== undefined && !isOwnKey(RESNET_PRESETS, preset)) throw unknownPreset("resnet", preset, RESNET_PRESETS);
    const base = preset === undefined ? {} : RESNET_PRESETS[preset as ResNetPreset];
    const resolved = resolveResNetConfig({ ...base, ...fields } as ResNetConfig);
    return { config: resolved, parameters: sizeChecked(resolved.layers.reduce((a, b) => a + b, 0), () => resnetParameters(resolved)) };
  }
  if (arch === "vit") {
    if (preset !== undefined && !isOwnKey(VIT_PRESETS, preset)) throw unknownPreset("vit", preset, VIT_PRESETS);
    const base = preset === undefined ? {} : VIT_PRESETS[preset as VitPreset];
    const resolved = resolveVitConfig({ ...base, ...fields } as VitConfig);
    return { config: resolved, parameters: sizeChecked(resolved.depth, () => vitParameters(resolved)) };
  }
  throw new Error(`createModel: "arch" must be "resnet" or "vit", got ${brief(arch)}`);
}

function sizeChecked(blocks: number, count: () => number): number {
  if (blocks > MAX_MODEL_BLOCKS) throw new Error(`createModel: ${blocks} blocks, over the limit of ${MAX_MODEL_BLOCKS}`);
  const parameters = count();
  if (!(parameters <= MAX_MODEL_PARAMETERS)) {
    throw new Error(`createModel: the config asks for ${parameters.toExponential(3)} parameters, over the limit of ${MAX_MODEL_PARAMETERS} (2^30)`);
  }
  return parameters;
}

/** Trainable parameters of a ResNet, counted as the modules allocate them (BatchNorm: weight and bias). */
function resnetParameters(c: ResolvedResNetConfig): number {
  const conv = (inC: number, outC: number, k: number) => inC * outC * k * k;
  const bn = (channels: number) => 2 * channels;
  let total = conv(c.inChannels, c.stemWidth, c.stemKernel) + bn(c.stemWidth);
  let channels = c.stemWidth;
  c.layers.forEach((blocks, i) => {
    const planes = c.widths[i];
    for (let j = 0; j < blocks; j++) {
      const stride = i > 0 && j === 0 ? 2 : 1;
      const out = c.block === "basic" ? planes : 4 * planes;
      total += c.block === "basic"
        ? conv(channels, planes, 3) + bn(planes) + conv(planes, planes, 3) + bn(planes)
        : conv(channels, planes, 1) + bn(planes) + conv(planes, planes, 3) + bn(planes) + conv(planes, out, 1) + bn(out);
      if (stride !== 1 || channels !== out) total += conv(channels, out, 1) + bn(out);
      channels = out;
    }
  });
  return total + (c.classes > 0 ? channels * c.classes + c.classes : 0);
}

/** Trainable parameters of a ViT: patch embedding, class token, position embedding, blocks, norm, head. */
function vitParameters(c: ResolvedVitConfig): number {
  const w = c.width, m = c.mlpWidth;
  const grid = c.imageSize / c.patchSize;
  const block = 2 * w + (3 * w * w + (c.qkvBias ? 3 * w : 0)) + (w * w + w) + 2 * w + (w * m + m) + (m * w + w);
  const embed = w * c.inChannels * c.patchSize ** 2 + w + w + (1 + grid * grid) * w;
  return embed + c.depth * block + 2 * w + (c.classes > 0 ? w * c.classes + c.classes : 0);
}

/** Builds a model from a config object (e.g. parsed JSON); errors name the offending key. */
export function createModel(config: ModelConfig): Model {
  const { config: resolved } = checkModelConfig(config);
  return resolved.arch === "resnet" ? resnet(resolved) : vit(resolved);
}

/** Parses and checks a JSON model config without building it; `source` (a file name) prefixes every error. */
export function parseModelConfig(text: string, source = "model config"): ModelConfig {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${clip((e as Error).message, 120)})`);
  }
  try {
    checkModelConfig(config as ModelConfig);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return config as ModelConfig;
}

/** Parses a JSON model config; `source` (a file name) prefixes every error. */
export function modelFromJson(text: string, source = "model config"): Model {
  return createModel(parseModelConfig(text, source));
}

function unknownPreset(arch: string, preset: unknown, presets: object): Error {
  return new Error(`createModel: unknown ${arch} preset ${brief(preset)} (known: ${Object.keys(presets).join(", ")})`);
}
