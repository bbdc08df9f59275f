/**
 * Vision Transformer with timm's parameter names and layouts (`VisionTransformer` with a class
 * token, pre-norm blocks, LayerNorm eps 1e-6, exact GELU, qkv with bias, head on the class token):
 * a timm state dict loads as is. Inputs are NCHW; an input whose size differs from `imageSize`
 * gets its position embedding resampled bicubically on the fly (timm's dynamic image size), and a
 * checkpoint made for another grid is resampled when loaded.
 */
import { type Shape, Tensor } from "../tensor.ts";
import { tidy } from "../engine.ts";
import { add } from "../ops/elementwise.ts";
import { linear } from "../ops/linear.ts";
import { qkvAttention } from "../ops/attention.ts";
import { broadcastTo, concat, permute, reshape, slice } from "../ops/movement.ts";
import { randomNormal, tensor, zeros } from "../ops/creation.ts";
import { Module, type LoadOptions, type LoadReport, type StateDict } from "../nn/module.ts";
import type { Parameter } from "../nn/parameter.ts";
import { Linear } from "../nn/linear.ts";
import { LayerNorm } from "../nn/layer_norm.ts";
import { GELU } from "../nn/activation.ts";
import { Dropout } from "../nn/dropout.ts";
import { Identity } from "../nn/identity.ts";
import { Sequential } from "../nn/sequential.ts";
import { kaimingUniformDefault, SeedStream, truncNormal, uniform } from "../nn/init.ts";
import { resamplePositionEmbedding } from "./pos_embed.ts";
import { brief, clip, definedEntries, isOwnKey } from "./config.ts";

export interface VitConfig {
  arch?: "vit";
  /** Side of the square training input in pixels; sets the position-embedding grid. */
  imageSize: number;
  patchSize: number;
  /** Token width (timm's embed_dim). */
  width: number;
  depth: number;
  heads: number;
  /** Hidden width of each MLP (default 4·width). */
  mlpWidth?: number;
  /** Classifier outputs; 0 gives no head (features of the class token). */
  classes: number;
  inChannels?: number;
  qkvBias?: boolean;
  /** Dropout after the position embedding, the attention projection and in the MLP (timm's drop_rate). */
  dropRate?: number;
  layerNormEps?: number;
  /** Attention kernel: fused or matmul → softmax → matmul; by default the op picks (fused where it applies). */
  attention?: "fused" | "composed";
  /** Seed of the initial weights and dropout masks. */
  seed?: number;
}

export type ResolvedVitConfig = Required<Omit<VitConfig, "attention">> & Pick<VitConfig, "attention">;

/** Every key of VitConfig (for rejecting misspelt keys in JSON configs). */
const VIT_CONFIG_KEYS: Record<keyof VitConfig, true> = {
  arch: true, imageSize: true, patchSize: true, width: true, depth: true, heads: true, mlpWidth: true, classes: true,
  inChannels: true, qkvBias: true, dropRate: true, layerNormEps: true, attention: true, seed: true,
};

const PRESET_BASE = { imageSize: 224, patchSize: 16, classes: 1000 } as const;

/** timm's vit_*_patch16_224 shapes. */
export const VIT_PRESETS = {
  vit_tiny_patch16_224: { ...PRESET_BASE, width: 192, depth: 12, heads: 3 },
  vit_small_patch16_224: { ...PRESET_BASE, width: 384, depth: 12, heads: 6 },
  vit_base_patch16_224: { ...PRESET_BASE, width: 768, depth: 12, heads: 12 },
} as const satisfies Record<string, VitConfig>;

export type VitPreset = keyof typeof VIT_PRESETS;

/** timm's init: Linear weights trunc_normal(0.02) with zero bias; LayerNorm 1/0. */
function vitLinear(inFeatures: number, outFeatures: number, seeds: SeedStream, bias = true): Linear {
  const weightInit = (shape: Shape, seed: number) => truncNormal(shape, 0.02, seed);
  return new Linear(inFeatures, outFeatures, { bias, seed: seeds.next(), weightInit, biasInit: (shape) => zeros(shape) });
}

/**
 * timm's PatchEmbed: a convolution with kernel = stride = patch (weight [D, C, p, p], PyTorch's
 * default init). Non-overlapping patches make it a matmul of flattened patches with the weight.
 */
export class PatchEmbed extends Module {
  readonly proj: PatchProjection;

  constructor(readonly patchSize: number, inChannels: number, width: number, seeds: SeedStream) {
    super();
    this.proj = this.registerModule("proj", new PatchProjection(patchSize, inChannels, width, seeds));
  }

  /** [B, C, H, W] → [B, (H/p)·(W/p), D], patches in row-major order. */
  forward(x: Tensor): Tensor {
    return this.proj.forward(x);
  }
}

/** The weight and bias of patch_embed.proj, applied to non-overlapping patches. */
export class PatchProjection extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(readonly patchSize: number, readonly inChannels: number, readonly width: number, seeds: SeedStream) {
    super();
    const shape = [width, inChannels, patchSize, patchSize];
    this.weight = this.registerParameter("weight", kaimingUniformDefault(shape, seeds.next()));
    const bound = 1 / Math.sqrt(inChannels * patchSize * patchSize);
    this.bias = this.registerParameter("bias", uniform([width], bound, seeds.next()));
  }

  /** Patch embeddings are not weight-decayed (as in the harmonization loss). */
  override noWeightDecay(): string[] {
    return ["weight", "bias"];
  }

  forward(x: Tensor): Tensor {
    const p = this.patchSize;
    const [batch, channels, height, widthPx] = x.shape;
    if (x.rank !== 4 || channels !== this.inChannels || height % p !== 0 || widthPx % p !== 0) {
      throw new Error(
        `PatchEmbed: input [${x.shape}] must be [B, ${this.inChannels}, H, W] with H and W multiples of ${p}`,
      );
    }
    const [gh, gw] = [height / p, widthPx / p];
    const patches = permute(reshape(x, [batch, channels, gh, p, gw, p]), [0, 2, 4, 1, 3, 5]);
    const rows = reshape(patches, [batch, gh * gw, channels * p * p]);
    return linear(rows, reshape(this.weight.value, [this.width, channels * p * p]), this.bias.value);
  }
}

/** Multi-head self-attention: qkv [D → 3D] split as (3, heads, headDim), then proj. */
export class Attention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  private readonly projDrop: Dropout;

  constructor(readonly width: number, readonly heads: number, private readonly config: ResolvedVitConfig, seeds: SeedStream) {
    super();
    if (width % heads !== 0) throw new Error(`Attention: width ${width} is not divisible by ${heads} heads`);
    this.qkv = this.registerModule("qkv", vitLinear(width, 3 * width, seeds, config.qkvBias));
    this.proj = this.registerModule("proj", vitLinear(width, width, seeds));
    this.projDrop = this.registerModule("proj_drop", new Dropout(config.dropRate, seeds.next()));
  }

  forward(x: Tensor): Tensor {
    const [batch, tokens, width] = x.shape;
    const headDim = width / this.heads;
    // [B, T, 3, heads, headDim] as the projection lies: attention reads each head in place and
    // writes [B, T, heads, headDim], and its gradient comes back in the projection's layout.
    const qkv = reshape(this.qkv.forward(x), [batch, tokens, 3, this.heads, headDim]);
    const heads = qkvAttention(qkv, { scale: 1 / Math.sqrt(headDim), implementation: this.config.attention });
    return this.projDrop.forward(this.proj.forward(reshape(heads, [batch, tokens, width])));
  }
}

/** fc1 → GELU → dropout → fc2 → dropout. */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  private readonly act = new GELU();
  private readonly drop: Dropout;

  constructor(width: number, hidden: number, dropRate: number, seeds: SeedStream) {
    super();
    this.fc1 = this.registerModule("fc1", vitLinear(width, hidden, seeds));
    this.registerModule("act", this.act);
    this.drop = this.registerModule("drop", new Dropout(dropRate, seeds.next()));
    this.fc2 = this.registerModule("fc2", vitLinear(hidden, width, seeds));
  }

  forward(x: Tensor): Tensor {
    return this.drop.forward(this.fc2.forward(this.drop.forward(this.act.forward(this.fc1.forward(x)))));
  }
}

/** Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)). */
export class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;

  constructor(config: ResolvedVitConfig, seeds: SeedStream) {
    super();
    this.norm1 = this.registerModule("norm1", new LayerNorm(config.width, config.layerNormEps));
    this.attn = this.registerModule("attn", new Attention(config.width, config.heads, config, seeds));
    this.norm2 = this.registerModule("norm2", new LayerNorm(config.width, config.layerNormEps));
    this.mlp = this.registerModule("mlp", new Mlp(config.width, config.mlpWidth, config.dropRate, seeds));
  }

  forward(x: Tensor): Tensor {
    const y = add(x, this.attn.forward(this.norm1.forward(x)));
    return add(y, this.mlp.forward(this.norm2.forward(y)));
  }
}

/** Fills in a config's defaults and checks it. */
export function resolveVitConfig(config: VitConfig): ResolvedVitConfig {
  const full = {
    arch: "vit",
    inChannels: 3,
    mlpWidth: 4 * config.width,
    qkvBias: true,
    dropRate: 0,
    layerNormEps: 1e-6,
    seed: 0,
    ...definedEntries(config),
  } as ResolvedVitConfig;
  const unknown = Object.keys(config).filter((key) => !isOwnKey(VIT_CONFIG_KEYS, key));
  if (unknown.length > 0) throw new Error(`ViT config: unknown keys ${clip(unknown.join(", "))} (known: ${Object.keys(VIT_CONFIG_KEYS).join(", ")})`);
  if (full.arch !== "vit") throw new Error(`ViT config: arch must be "vit", got ${brief(full.arch)}`);
  const positive = ["imageSize", "patchSize", "width", "depth", "heads", "mlpWidth", "inChannels"] as const;
  for (const key of positive) {
    if (!Number.isSafeInteger(full[key]) || full[key] <= 0) throw new Error(`ViT config: ${key} must be a positive integer, got ${brief(full[key])}`);
  }
  if (!Number.isSafeInteger(full.classes) || full.classes < 0) throw new Error(`ViT config: classes must be an integer ≥ 0, got ${brief(full.classes)}`);
  if (typeof full.dropRate !== "number" || !(full.dropRate >= 0 && full.dropRate < 1)) {
    throw new Error(`ViT config: dropRate must be a number in [0, 1), got ${brief(full.dropRate)}`);
  }
  if (typeof full.layerNormEps !== "number" || !(full.layerNormEps > 0 && full.layerNormEps < 1)) {
    throw new Error(`ViT config: layerNormEps must be a number in (0, 1), got ${brief(full.layerNormEps)}`);
  }
  if (typeof full.qkvBias !== "boolean") throw new Error(`ViT config: qkvBias must be true or false, got ${brief(full.qkvBias)}`);
  if (full.attention !== undefined && full.attention !== "fused" && full.attention !== "composed") {
    throw new Error(`ViT config: attention must be "fused" or "composed", got ${brief(full.attention)}`);
  }
  if (!Number.isSafeInteger(full.seed)) throw new Error(`ViT config: seed must be an integer, got ${brief(full.seed)}`);
  if (full.imageSize % full.patchSize !== 0) {
    throw new Error(`ViT config: imageSize ${full.imageSize} is not a multiple of patchSize ${full.patchSize}`);
  }
  if (full.width % full.heads !== 0) throw new Error(`ViT config: width ${full.width} is not divisible by heads ${full.heads}`);
  return full;
}

export class VisionTransformer extends Module {
  readonly config: ResolvedVitConfig;
  readonly cls_token: Parameter;
  readonly pos_embed: Parameter;
  readonly patch_embed: PatchEmbed;
  readonly blocks: Sequential;
  readonly norm: LayerNorm;
  readonly head: Linear | Identity;
  private readonly posDrop: Dropout;
  /** Patch grid of the position embedding. */
  readonly grid: number;

  constructor(config: VitConfig) {
    super();
    const c = this.config = resolveVitConfig(config);
    const seeds = new SeedStream(c.seed);
    this.grid = c.imageSize / c.patchSize;
    // timm: cls_token ~ N(0, 1e-6), pos_embed ~ trunc_normal(0.02); neither is weight-decayed.
    this.cls_token = this.registerParameter("cls_token", randomNormal([1, 1, c.width], { seed: seeds.next(), std: 1e-6 }));
    this.pos_embed = this.registerParameter("pos_embed", truncNormal([1, 1 + this.grid ** 2, c.width], 0.02, seeds.next()));
    this.patch_embed = this.registerModule("patch_embed", new PatchEmbed(c.patchSize, c.inChannels, c.width, seeds));
    this.posDrop = this.registerModule("pos_drop", new Dropout(c.dropRate, seeds.next()));
    this.blocks = this.registerModule("blocks", new Sequential(...Array.from({ length: c.depth }, () => new Block(c, seeds))));
    this.norm = this.registerModule("norm", new LayerNorm(c.width, c.layerNormEps));
    this.head = this.registerModule("head", c.classes > 0 ? vitLinear(c.width, c.classes, seeds) : new Identity());
  }

  /** Tokens after the final norm: [B, 1 + patches, D]. */
  forwardFeatures(x: Tensor): Tensor {
    const tokens = this.patch_embed.forward(x);
    const [batch, , width] = tokens.shape;
    const [gh, gw] = [x.shape[2] / this.config.patchSize, x.shape[3] / this.config.patchSize];
    const pos = resamplePositionEmbedding(this.pos_embed.value, [this.grid, this.grid], [gh, gw], 1);
    const cls = broadcastTo(this.cls_token.value, [batch, 1, width]);
    const y = this.posDrop.forward(add(concat([cls, tokens], 1), pos));
    return this.norm.forward(this.blocks.forward(y));
  }

  /** The class token and position embedding are not weight-decayed (timm's no_weight_decay()). */
  override noWeightDecay(): string[] {
    return ["cls_token", "pos_embed"];
  }

  /** Logits [B, classes] from the class token (or its features when classes = 0). */
  forward(x: Tensor): Tensor {
    const features = this.forwardFeatures(x);
    const [batch, , width] = features.shape;
    return this.head.forward(reshape(slice(features, [0, 0, 0], [batch, 1, width]), [batch, width]));
  }

  /**
   * Loads a timm state dict; a pos_embed made for another (square) grid is resampled bicubically
   * to this model's grid first, as timm's checkpoint filter does.
   */
  override loadStateDict(dict: StateDict, options: LoadOptions = {}): LoadReport {
    const entries = new Map(dict instanceof Map ? dict : Object.entries(dict));
    const pos = entries.get("pos_embed");
    const tokens = 1 + this.grid ** 2;
    if (pos && pos.shape.length === 3 && pos.shape[1] !== tokens && pos.shape[2] === this.config.width) {
      const from = Math.round(Math.sqrt(pos.shape[1] - 1));
      if (from * from + 1 !== pos.shape[1]) {
        throw new Error(`VisionTransformer.loadStateDict: "pos_embed" [${pos.shape}] is not 1 + a square grid of tokens`);
      }
      const resampled = tidy(() => {
        const source = pos instanceof Tensor ? pos : tensor(pos.data, pos.shape);
        return resamplePositionEmbedding(source, [from, from], [this.grid, this.grid], 1);
      });
      entries.set("pos_embed", resampled);
      try {
        return super.loadStateDict(entries, options);
      } finally {
        resampled.dispose(); // the model holds its own view of the values
      }
    }
    return super.loadStateDict(entries, options);
  }
}

/** A ViT from a preset name (timm's) or a config; `overrides` adjust a preset (classes, seed, …). */
export function vit(nameOrConfig: VitPreset | VitConfig, overrides: Partial<VitConfig> = {}): VisionTransformer {
  if (typeof nameOrConfig === "string") {
    const preset = VIT_PRESETS[nameOrConfig];
    if (!preset) throw new Error(`vit: unknown preset "${nameOrConfig}" (known: ${Object.keys(VIT_PRESETS).join(", ")})`);
    return new VisionTransformer({ ...preset, ...overrides });
  }
  return new VisionTransformer({ ...nameOrConfig, ...overrides });
}
