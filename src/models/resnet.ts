/**
 * ResNet (torchvision's v1.5: the stride sits on the 3×3 convolution of a bottleneck) with exactly
 * torchvision's / timm's parameter names (`conv1`, `bn1`, `layer1.0.conv1`, …,
 * `layer2.0.downsample.0/1`, `fc`), so their state dicts load as is. A config sets the block type,
 * blocks and width per stage, the stem and the classes, so tiny ResNets are one line:
 *   resnet({ block: "basic", layers: [1, 1], widths: [8, 16], stemKernel: 3, stemStride: 1, classes: 10 })
 */
import type { Tensor } from "../tensor.ts";
import { addRelu } from "../ops/fused_relu.ts";
import { flatten } from "../ops/movement.ts";
import { Module } from "../nn/module.ts";
import { Conv2d } from "../nn/conv2d.ts";
import { BatchNorm2d } from "../nn/batch_norm2d.ts";
import { Linear } from "../nn/linear.ts";
import { ReLU } from "../nn/activation.ts";
import { AdaptiveAvgPool2d, MaxPool2d } from "../nn/pooling.ts";
import { Identity } from "../nn/identity.ts";
import { Sequential } from "../nn/sequential.ts";
import { kaimingNormalFanOut, SeedStream } from "../nn/init.ts";
import { brief, clip, definedEntries, isOwnKey } from "./config.ts";

export type BlockType = "basic" | "bottleneck";

export interface ResNetConfig {
  arch?: "resnet";
  /** BasicBlock (two 3×3 convs, ResNet-18/34) or Bottleneck (1×1, 3×3, 1×1 ×4, ResNet-50+). */
  block: BlockType;
  /** Blocks per stage; stage i > 0 halves the resolution. */
  layers: readonly number[];
  /** Planes per stage (default 64, 128, 256, 512); a bottleneck stage outputs 4× its planes. */
  widths?: readonly number[];
  /** Channels of the stem convolution (default widths[0]). */
  stemWidth?: number;
  /** Stem convolution kernel (default 7, padding kernel/2) and stride (default 2). */
  stemKernel?: number;
  stemStride?: number;
  /** Whether the stem ends with a 3×3 stride-2 max pool (default true). */
  stemPool?: boolean;
  /** Classifier outputs; 0 gives no fc (pooled features). */
  classes: number;
  inChannels?: number;
  /** Seed of the initial weights (torchvision's init: Kaiming-normal fan-out convs, BN 1/0). */
  seed?: number;
}

export type ResolvedResNetConfig = Required<ResNetConfig>;

const RESNET_CONFIG_KEYS: Record<keyof ResNetConfig, true> = {
  arch: true, block: true, layers: true, widths: true, stemWidth: true, stemKernel: true, stemStride: true,
  stemPool: true, classes: true, inChannels: true, seed: true,
};

export const RESNET_PRESETS = {
  resnet18: { block: "basic", layers: [2, 2, 2, 2], classes: 1000 },
  resnet34: { block: "basic", layers: [3, 4, 6, 3], classes: 1000 },
  resnet50: { block: "bottleneck", layers: [3, 4, 6, 3], classes: 1000 },
} as const satisfies Record<string, ResNetConfig>;

export type ResNetPreset = keyof typeof RESNET_PRESETS;

const EXPANSION: Record<BlockType, number> = { basic: 1, bottleneck: 4 };

/** A bias-free convolution with torchvision's ResNet init. */
function conv(inChannels: number, outChannels: number, kernel: number, stride: number, seeds: SeedStream): Conv2d {
  const padding = Math.floor(kernel / 2);
  return new Conv2d(inChannels, outChannels, kernel, { stride, padding, bias: false, seed: seeds.next(), weightInit: kaimingNormalFanOut });
}

/** conv 1×1 (stride) + BN, when a block changes resolution or width. */
function downsample(inChannels: number, outChannels: number, stride: number, seeds: SeedStream): Sequential {
  return new Sequential(conv(inChannels, outChannels, 1, stride, seeds), new BatchNorm2d(outChannels));
}

/** relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(inChannels: number, planes: number, stride: number, seeds: SeedStream) {
    super();
    this.conv1 = this.registerModule("conv1", conv(inChannels, planes, 3, stride, seeds));
    this.bn1 = this.registerModule("bn1", new BatchNorm2d(planes));
    this.registerModule("relu", new ReLU());
    this.conv2 = this.registerModule("conv2", conv(planes, planes, 3, 1, seeds));
    this.bn2 = this.registerModule("bn2", new BatchNorm2d(planes));
    const needed = stride !== 1 || inChannels !== planes;
    this.downsample = needed ? this.registerModule("downsample", downsample(inChannels, planes, stride, seeds)) : null;
  }

  forward(x: Tensor): Tensor {
    const y = this.bn2.forward(this.conv2.forward(this.bn1.forwardRelu(this.conv1.forward(x))));
    return addRelu(y, this.downsample ? this.downsample.forward(x) : x);
  }
}

/** relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)), 4× planes out. */
export class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(inChannels: number, planes: number, stride: number, seeds: SeedStream) {
    super();
    const out = planes * EXPANSION.bottleneck;
    this.conv1 = this.registerModule("conv1", conv(inChannels, planes, 1, 1, seeds));
    this.bn1 = this.registerModule("bn1", new BatchNorm2d(planes));
    this.conv2 = this.registerModule("conv2", conv(planes, planes, 3, stride, seeds));
    this.bn2 = this.registerModule("bn2", new BatchNorm2d(planes));
    this.conv3 = this.registerModule("conv3", conv(planes, out, 1, 1, seeds));
    this.bn3 = this.registerModule("bn3", new BatchNorm2d(out));
    this.registerModule("relu", new ReLU());
    const needed = stride !== 1 || inChannels !== out;
    this.downsample = needed ? this.registerModule("downsample", downsample(inChannels, out, stride, seeds)) : null;
  }

  forward(x: Tensor): Tensor {
    const a = this.bn1.forwardRelu(this.conv1.forward(x));
    const b = this.bn2.forwardRelu(this.conv2.forward(a));
    const y = this.bn3.forward(this.conv3.forward(b));
    return addRelu(y, this.downsample ? this.downsample.forward(x) : x);
  }
}

/** Fills in a config's defaults and checks it; errors name the offending key. */
export function resolveResNetConfig(config: ResNetConfig): ResolvedResNetConfig {
  const unknown = Object.keys(config).filter((key) => !isOwnKey(RESNET_CONFIG_KEYS, key));
  if (unknown.length > 0) {
    throw new Error(`ResNet config: unknown keys ${clip(unknown.join(", "))} (known: ${Object.keys(RESNET_CONFIG_KEYS).join(", ")})`);
  }
  const widths = config.widths ?? [64, 128, 256, 512].slice(0, config.layers?.length ?? 4);
  const full = {
    arch: "resnet",
    widths,
    stemWidth: widths[0],
    stemKernel: 7,
    stemStride: 2,
    stemPool: true,
    inChannels: 3,
    seed: 0,
    ...definedEntries(config),
  } as ResolvedResNetConfig;
  if (full.arch !== "resnet") throw new Error(`ResNet config: arch must be "resnet", got ${brief(full.arch)}`);
  if (!isOwnKey(EXPANSION, full.block)) throw new Error(`ResNet config: block must be "basic" or "bottleneck", got ${brief(full.block)}`);
  const counts = (name: string, list: unknown, min: number) => {
    if (!Array.isArray(list) || list.length === 0 || list.some((n) => !Number.isSafeInteger(n) || n < min)) {
      throw new Error(`ResNet config: ${name} must be a non-empty list of integers ≥ ${min}, got ${brief(list)}`);
    }
  };
  counts("layers", full.layers, 1);
  counts("widths", full.widths, 1);
  if (full.widths.length !== full.layers.length) {
    throw new Error(`ResNet config: widths ${brief(full.widths)} must give one width per stage of layers ${brief(full.layers)}`);
  }
  for (const key of ["stemWidth", "stemKernel", "stemStride", "inChannels"] as const) {
    if (!Number.isSafeInteger(full[key]) || full[key] < 1) throw new Error(`ResNet config: ${key} must be a positive integer, got ${brief(full[key])}`);
  }
  if (!Number.isSafeInteger(full.classes) || full.classes < 0) throw new Error(`ResNet config: classes must be an integer ≥ 0, got ${brief(full.classes)}`);
  if (typeof full.stemPool !== "boolean") throw new Error(`ResNet config: stemPool must be true or false, got ${brief(full.stemPool)}`);
  if (!Number.isSafeInteger(full.seed)) throw new Error(`ResNet config: seed must be an integer, got ${brief(full.seed)}`);
  return full;
}

export class ResNet extends Module {
  readonly config: ResolvedResNetConfig;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly maxpool: MaxPool2d | Identity;
  readonly stages: Sequential[];
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear | Identity;
  /** Channels of the pooled features. */
  readonly featureWidth: number;

  constructor(config: ResNetConfig) {
    super();
    const c = this.config = resolveResNetConfig(config);
    const seeds = new SeedStream(c.seed);
    this.conv1 = this.registerModule("conv1", conv(c.inChannels, c.stemWidth, c.stemKernel, c.stemStride, seeds));
    this.bn1 = this.registerModule("bn1", new BatchNorm2d(c.stemWidth));
    this.registerModule("relu", new ReLU());
    this.maxpool = this.registerModule("maxpool", c.stemPool ? new MaxPool2d(3, 2, 1) : new Identity());
    const Block = c.block === "basic" ? BasicBlock : Bottleneck;
    let channels = c.stemWidth;
    this.stages = c.layers.map((blocks, i) => {
      const planes = c.widths[i];
      const stage = new Sequential(...Array.from({ length: blocks }, (_, j) => {
        const block = new Block(channels, planes, i > 0 && j === 0 ? 2 : 1, seeds);
        channels = planes * EXPANSION[c.block];
        return block;
      }));
      return this.registerModule(`layer${i + 1}`, stage);
    });
    this.featureWidth = channels;
    this.avgpool = this.registerModule("avgpool", new AdaptiveAvgPool2d(1));
    this.fc = this.registerModule("fc", c.classes > 0 ? new Linear(channels, c.classes, { seed: seeds.next() }) : new Identity());
  }

  /** Pooled features [N, featureWidth]. */
  forwardFeatures(x: Tensor): Tensor {
    let y = this.maxpool.forward(this.bn1.forwardRelu(this.conv1.forward(x)));
    for (const stage of this.stages) y = stage.forward(y);
    return flatten(this.avgpool.forward(y), 1);
  }

  /** Logits [N, classes] (or the pooled features when classes = 0). */
  forward(x: Tensor): Tensor {
    return this.fc.forward(this.forwardFeatures(x));
  }
}

/** A ResNet from a preset name or a config; `overrides` adjust a preset (classes, seed, …). */
export function resnet(nameOrConfig: ResNetPreset | ResNetConfig, overrides: Partial<ResNetConfig> = {}): ResNet {
  if (typeof nameOrConfig === "string") {
    const preset = RESNET_PRESETS[nameOrConfig];
    if (!preset) throw new Error(`resnet: unknown preset "${nameOrConfig}" (known: ${Object.keys(RESNET_PRESETS).join(", ")})`);
    return new ResNet({ ...preset, ...overrides });
  }
  return new ResNet({ ...nameOrConfig, ...overrides });
}
