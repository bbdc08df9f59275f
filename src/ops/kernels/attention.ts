/**
 * Launchers for the fused attention kernels (shaders/attention.wgsl, shaders/attention_backward.wgsl,
 * shaders/attention_double_backward.wgsl).
 */
import { engine } from "../../engine.ts";
import { grid1d } from "../../backend/backend.ts";
import { Params } from "../../backend/params.ts";
import type { Tensor } from "../../tensor.ts";
import { shapeString } from "../shape.ts";
import { keptPacking } from "./launch.ts";

/** Must match shaders/lib/attention_blocks.wgsl: blocks of 16 rows per workgroup (16 lanes; D ≤ 64 is 16 vec4 chunks). */
const BLOCK = 16;
export const MAX_FUSED_HEAD_DIM = 64;

/** Bytes of workgroup memory the entry points declare: two 16×64 tiles and 16×16 partial statistics. */
const WORKGROUP_BYTES = 4 * (2 * 16 * 64 + 16 * 16);
/** The double backward's: the two tiles and 16 lanes' partial sums (4 of 16 rows each). */
const DOUBLE_BACKWARD_WORKGROUP_BYTES = 4 * (2 * 16 * 64 + 16 * 4 * 16);
/** The double backward's rows kernel binds 7 textures (q, k, v, dO and their gradients' cotangents) and 5 storage buffers. */
const DOUBLE_BACKWARD_TEXTURES = 7;
const DOUBLE_BACKWARD_STORAGE_BUFFERS = 5;

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

/** Whether the fused double backward (attentionDoubleBackward) runs for q, k, v of [batch, T, D] on this device. */
export function fusedAttentionDoubleBackwardFits(batch: number, T: number, D: number): boolean {
  const limits = engine.backend.limits;
  return fusedAttentionFits(batch, T, D) && DOUBLE_BACKWARD_WORKGROUP_BYTES <= limits.maxComputeWorkgroupStorageSize &&
    DOUBLE_BACKWARD_TEXTURES <= limits.maxSampledTexturesPerShaderStage &&
    DOUBLE_BACKWARD_STORAGE_BUFFERS <= limits.maxStorageBuffersPerShaderStage;
}

/** [batch, T, D] of qkv [3, batch, T, D] (q, k, v stacked). */
function checkInputs(op: string, qkv: Tensor, fits = fusedAttentionFits): [number, number, number] {
  if (qkv.rank !== 4 || qkv.shape[0] !== 3) {
    throw new Error(`${op}: qkv must be [3, batch, T, D] (q, k, v stacked), got ${shapeString(qkv.shape)}`);
  }
  const [, batch, T, D] = qkv.shape;
  if (!fits(batch, T, D)) {
    throw new Error(
      `${op}: the fused kernel needs a non-empty [batch, T, D] with D a multiple of 4, at most ${MAX_FUSED_HEAD_DIM}, ` +
        `within this device's workgroup-memory and texture limits; got qkv ${shapeString(qkv.shape)}`,
    );
  }
  return [batch, T, D];
}

/**
 * Stages [batch, T, D] operands as texture arrays: each source is a tensor and the element where
 * the operand starts in it (q, k, v in a stack; dO, the leading part of a packed cotangent). Each
 * is packed once and kept beside its source's storage: a harmonized step's forward, both backward
 * passes and the double backward read one q, k, v, and the last two one dO.
 */
function stageTextures(sources: [Tensor, number][], batch: number, T: number, D: number, scale: number): GPUTextureView[] {
  const { size } = textureLayout(batch, T, D);
  return sources.map(([source, start]) => {
    const key = `attention.operand ${batch}x${T}x${D} from ${start}: ${size.join("x")} rgba32float`;
    return keptPacking(source, key, size, (packed) =>
      engine.backend.dispatch({
        shader: "attention",
        entry: "attention_pack",
        constants: { HEAD_DIM: D },
        params: attentionParams(batch, T, D, scale, start / 4),
        buffers: [source.buffer, packed],
        workgroups: [Math.ceil(D / 64), Math.ceil(T / 4), batch],
      }));
  });
}

/** q, k, v of a [3, batch, T, D] stack: each part with the element it starts at. */
function stackParts(qkv: Tensor): [Tensor, number][] {
  const part = qkv.size / 3;
  return [0, 1, 2].map((i) => [qkv, i * part]);
}

function dispatchBlocks(
  shader: "attention" | "attention_backward" | "attention_double_backward",
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
  const textures = stageTextures(stackParts(qkv), batch, T, D, scale);
  dispatchBlocks("attention", "attention_forward", D, params, [...textures, out.buffer], T, batch);
  return out;
}

/** Checks the packed output (o, then lse) and its cotangent (dO, then d lse) of qkv [3, batch, T, D]. */
function checkPacked(op: string, qkv: Tensor, packed: Tensor, cotangent: Tensor): void {
  const [, batch, T, D] = qkv.shape;
  const size = batch * T * (D + 1);
  for (const [name, t] of [["packed output", packed], ["cotangent", cotangent]] as const) {
    if (t.rank !== 1 || t.size !== size) {
      throw new Error(`${op}: ${name} must be [${size}] for qkv ${shapeString(qkv.shape)}, got ${shapeString(t.shape)}`);
    }
  }
  // The kernels read packed as a vec4 array; the pool's size classes are multiples of 16 bytes.
  for (const t of [packed, cotangent]) {
    if (t.buffer.size % 16 !== 0) throw new Error(`${op}: buffer of ${t} is not a multiple of 16 bytes`);
  }
}

/** [3, batch, T, D]: dq, dk, dv from the packed output and a cotangent of it (dO, then d lse). */
export function attentionBackwardKernel(qkv: Tensor, packed: Tensor, cotangent: Tensor, scale: number): Tensor {
  const [batch, T, D] = checkInputs("attentionBackward", qkv);
  checkPacked("attentionBackward", qkv, packed, cotangent);
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
  const textures = stageTextures([...stackParts(qkv), [cotangent, 0]], batch, T, D, scale);
  const grads = engine.allocate("attentionBackward", [3, batch, T, D]);
  const resources = [...textures, packed.buffer, delta.buffer, grads.buffer];
  dispatchBlocks("attention_backward", "attention_grad_q", D, params, resources, T, batch);
  dispatchBlocks("attention_backward", "attention_grad_kv", D, params, resources, T, batch);
  delta.dispose();
  return grads;
}

/**
 * Flat [4·batch·T·D + batch·T]: the vector–Jacobian product of attentionBackward for the cotangent
 * [3, batch, T, D] of its result (shaders/attention_double_backward.wgsl): q̄, k̄, v̄ stacked like
 * qkv, then the cotangent of the packed cotangent (dŌ, then that of d lse). The packed output is
 * read for its lse only.
 */
export function attentionDoubleBackwardKernel(cotangentOfGrads: Tensor, qkv: Tensor, packed: Tensor, cotangent: Tensor, scale: number): Tensor {
  const [batch, T, D] = checkInputs("attentionDoubleBackward", qkv, fusedAttentionDoubleBackwardFits);
  checkPacked("attentionDoubleBackward", qkv, packed, cotangent);
  if (shapeString(cotangentOfGrads.shape) !== shapeString(qkv.shape)) {
    throw new Error(`attentionDoubleBackward: the cotangent of the gradients must be qkv's shape ${shapeString(qkv.shape)}, got ${shapeString(cotangentOfGrads.shape)}`);
  }
  const params = attentionParams(batch, T, D, scale);
  const views = stageTextures([...stackParts(qkv), [cotangent, 0], ...stackParts(cotangentOfGrads)], batch, T, D, scale);
  // (δ, w, r, 0) of every query row: the rows kernel writes them, the keys kernel reads them.
  const stats = engine.allocate("attentionDoubleBackward", [batch, T, 4]);
  const out = engine.allocate("attentionDoubleBackward", [4 * batch * T * D + batch * T]);
  const shared = [...views.slice(0, 4), packed.buffer, stats.buffer, out.buffer, ...views.slice(4)];
  dispatchBlocks("attention_double_backward", "attention_double_rows", D, params, [...shared, cotangent.buffer], T, batch);
  dispatchBlocks("attention_double_backward", "attention_double_keys", D, params, shared, T, batch);
  stats.dispose();
  return out;
}
