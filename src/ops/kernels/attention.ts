/** Launchers for the fused attention kernels (shaders/attention.wgsl, shaders/attention_backward.wgsl). */
import { engine } from "../../engine.ts";
import { grid1d, type ScratchTexture } from "../../backend/backend.ts";
import { Params } from "../../backend/params.ts";
import type { Tensor } from "../../tensor.ts";
import { shapeString } from "../shape.ts";

/** Must match shaders/lib/attention_blocks.wgsl: blocks of 16 rows per workgroup (16 lanes; D ≤ 64 is 16 vec4 chunks). */
const BLOCK = 16;
export const MAX_FUSED_HEAD_DIM = 64;

/** Bytes of workgroup memory the entry points declare: two 16×64 tiles and 16×16 partial statistics. */
const WORKGROUP_BYTES = 4 * (2 * 16 * 64 + 16 * 16);

/** Texture layout of a [batch, T, D] operand: how many batches share a layer, and the size. */
function textureLayout(batch: number, T: number, D: number): { perLayer: number; size: [number, number, number] } {
  const perLayer = Math.max(1, Math.min(batch, Math.floor(engine.backend.limits.maxTextureDimension2D / T)));
  return { perLayer, size: [D / 4, perLayer * T, Math.ceil(batch / perLayer)] };
}

/**
 * Whether the fused kernels run for q, k, v of [batch, T, D] on this device: D a multiple of 4, at
 * most 64, and operands within the texture and dispatch limits.
 */
export function fusedAttentionFits(batch: number, T: number, D: number): boolean {
  const limits = engine.backend.limits;
  if (!(D > 0 && D % 4 === 0 && D <= MAX_FUSED_HEAD_DIM && T > 0 && batch > 0)) return false;
  const [, height, layers] = textureLayout(batch, T, D).size;
  return WORKGROUP_BYTES <= limits.maxComputeWorkgroupStorageSize && T <= limits.maxTextureDimension2D &&
    height <= limits.maxTextureDimension2D && layers <= limits.maxTextureArrayLayers &&
    batch <= limits.maxComputeWorkgroupsPerDimension;
}

/** [batch, T, D] of qkv [3, batch, T, D] (q, k, v stacked). */
function checkInputs(op: string, qkv: Tensor): [number, number, number] {
  if (qkv.rank !== 4 || qkv.shape[0] !== 3) {
    throw new Error(`${op}: qkv must be [3, batch, T, D] (q, k, v stacked), got ${shapeString(qkv.shape)}`);
  }
  const [, batch, T, D] = qkv.shape;
  if (!fusedAttentionFits(batch, T, D)) {
    throw new Error(
      `${op}: the fused kernel needs a non-empty [batch, T, D] with D a multiple of 4, at most ${MAX_FUSED_HEAD_DIM}, ` +
        `within this device's workgroup-memory and texture limits; got qkv ${shapeString(qkv.shape)}`,
    );
  }
  return [batch, T, D];
}

/**
 * Stages [batch, T, D] operands as texture arrays: each source is a tensor and the element where
 * the operand starts in it (q, k, v in a stack; dO, the leading part of a packed cotangent).
 */
function stageTextures(roles: string[], sources: [Tensor, number][], batch: number, T: number, D: number, scale: number): ScratchTexture[] {
  const { size } = textureLayout(batch, T, D);
  const textures = engine.backend.scratchTextures("rgba32float", roles.map((role) => ({ role: `attention.${role}`, size })));
  sources.forEach(([source, start], i) => {
    engine.backend.dispatch({
      shader: "attention",
      entry: "attention_pack",
      constants: { HEAD_DIM: D },
      params: attentionParams(batch, T, D, scale, start / 4),
      buffers: [source.buffer, textures[i].view],
      workgroups: [Math.ceil(D / 64), Math.ceil(T / 4), batch],
    });
  });
  return textures;
}

/** q, k, v of a [3, batch, T, D] stack: each part with the element it starts at. */
function stackParts(qkv: Tensor): [Tensor, number][] {
  const part = qkv.size / 3;
  return [0, 1, 2].map((i) => [qkv, i * part]);
}

function dispatchBlocks(
  shader: "attention" | "attention_backward",
  entry: string,
  D: number,
  params: Uint32Array,
  resources: (GPUBuffer | GPUTextureView)[],
  T: number,
  batch: number,
) {
  engine.backend.dispatch({
    shader,
    entry,
    constants: { HEAD_DIM: D },
    params,
    buffers: resources,
    workgroups: [Math.ceil(T / BLOCK), batch],
  });
}

/** The params block; `packOffset` (in texels) is where attention_pack's operand starts in its buffer. */
function attentionParams(batch: number, T: number, D: number, scale: number, packOffset = 0): Uint32Array {
  return new Params().u32(batch).u32(T).f32(scale).u32(textureLayout(batch, T, D).perLayer).u32(packOffset).build();
}

/** Flat [batch·T·D + batch·T]: softmax(scale·q·kᵀ)·v of qkv [3, batch, T, D], then each row's log-sum-exp of the scores. */
export function attentionKernel(qkv: Tensor, scale: number): Tensor {
  const [batch, T, D] = checkInputs("attention", qkv);
  const out = engine.allocate("attention", [batch * T * (D + 1)]);
  const params = attentionParams(batch, T, D, scale);
  const textures = stageTextures(["q", "k", "v"], stackParts(qkv), batch, T, D, scale);
  dispatchBlocks("attention", "attention_forward", D, params, [...textures.map((t) => t.view), out.buffer], T, batch);
  return out;
}

/** [3, batch, T, D]: dq, dk, dv from the packed output and a cotangent of it (dO, then d lse). */
export function attentionBackwardKernel(qkv: Tensor, packed: Tensor, cotangent: Tensor, scale: number): Tensor {
  const [batch, T, D] = checkInputs("attentionBackward", qkv);
  const size = batch * T * (D + 1);
  for (const [name, t] of [["packed output", packed], ["cotangent", cotangent]] as const) {
    if (t.rank !== 1 || t.size !== size) {
      throw new Error(`attentionBackward: ${name} must be [${size}] for qkv ${shapeString(qkv.shape)}, got ${shapeString(t.shape)}`);
    }
  }
  // The kernels read both as vec4 arrays; the pool's size classes are multiples of 16 bytes.
  for (const t of [packed, cotangent]) {
    if (t.buffer.size % 16 !== 0) throw new Error(`attentionBackward: buffer of ${t} is not a multiple of 16 bytes`);
  }
  const params = attentionParams(batch, T, D, scale);
  // δ_i = dO_i·o_i − dlse_i, shared by both gradient kernels.
  const delta = engine.allocate("attentionBackward", [batch, T]);
  engine.backend.dispatch({
    shader: "attention_backward",
    entry: "attention_delta",
    constants: { HEAD_DIM: D },
    params,
    buffers: [packed.buffer, cotangent.buffer, delta.buffer],
    workgroups: grid1d(batch * T, 64, engine.backend.limits.maxComputeWorkgroupsPerDimension),
  });
  const textures = stageTextures(["q", "k", "v", "dO"], [...stackParts(qkv), [cotangent, 0]], batch, T, D, scale);
  const grads = engine.allocate("attentionBackward", [3, batch, T, D]);
  const resources = [...textures.map((t) => t.view), packed.buffer, delta.buffer, grads.buffer];
  dispatchBlocks("attention_backward", "attention_grad_q", D, params, resources, T, batch);
  dispatchBlocks("attention_backward", "attention_grad_kv", D, params, resources, T, batch);
  delta.dispose();
  return grads;
}
