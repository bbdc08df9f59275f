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

/** Element strides of an operand's rows (Layout in shaders/lib/attention_blocks.wgsl). */
interface RowLayout {
  /** Between consecutive values of batch / heads. */
  outer: number;
  /** Between consecutive heads (batch mod heads). */
  head: number;
  /** Between consecutive rows (tokens). */
  row: number;
  /** Between q, k and v (their gradients alike); unused for o. */
  part: number;
}

/** The kernels' view of qkv: [batch, T, D] operands (batch = B·H) and where their rows lie. */
export interface AttentionGeometry {
  batch: number;
  T: number;
  D: number;
  heads: number;
  /** q, k, v and their gradients. */
  qkv: RowLayout;
  /** The output o, its cotangent dO and dŌ. */
  o: RowLayout;
}

/**
 * qkv as a [3, batch, T, D] stack (o [batch, T, D]) or as a [B, T, 3, H, D] projection, the qkv
 * linear layer's output viewed per head (o [B, T, H, D], which is [B, T, H·D]: no permutes on
 * either side); null for any other shape.
 */
export function attentionGeometry(qkv: Tensor): AttentionGeometry | null {
  if (qkv.rank === 4 && qkv.shape[0] === 3) {
    const [, batch, T, D] = qkv.shape;
    return { batch, T, D, heads: 1, qkv: { outer: T * D, head: 0, row: D, part: batch * T * D }, o: { outer: T * D, head: 0, row: D, part: 0 } };
  }
  if (qkv.rank === 5 && qkv.shape[2] === 3) {
    const [B, T, , H, D] = qkv.shape;
    return {
      batch: B * H,
      T,
      D,
      heads: H,
      qkv: { outer: T * 3 * H * D, head: D, row: 3 * H * D, part: H * D },
      o: { outer: T * H * D, head: D, row: H * D, part: 0 },
    };
  }
  return null;
}

/** The geometry of qkv, checked against what the fused kernels take. */
function checkInputs(op: string, qkv: Tensor, fits = fusedAttentionFits): AttentionGeometry {
  const geometry = attentionGeometry(qkv);
  if (!geometry) {
    throw new Error(`${op}: qkv must be [3, batch, T, D] (q, k, v stacked) or [B, T, 3, H, D] (a qkv projection), got ${shapeString(qkv.shape)}`);
  }
  if (!fits(geometry.batch, geometry.T, geometry.D)) {
    throw new Error(
      `${op}: the fused kernel needs a non-empty [batch, T, D] with D a multiple of 4, at most ${MAX_FUSED_HEAD_DIM}, ` +
        `within this device's workgroup-memory and texture limits; got qkv ${shapeString(qkv.shape)}`,
    );
  }
  return geometry;
}

/** An operand to stage: a tensor, the element where the operand starts in it and how its rows lie. */
type Operand = [Tensor, number, RowLayout];

/**
 * Stages [batch, T, D] operands as texture arrays: q, k, v (and their gradients' cotangents) from
 * qkv's layout, dO from the leading part of a packed cotangent. Each is packed once and kept beside
 * its source's storage: a harmonized step's forward, both backward passes and the double backward
 * read one q, k, v, and the last two one dO.
 */
function stageTextures(sources: Operand[], g: AttentionGeometry, scale: number): GPUTextureView[] {
  const { batch, T, D } = g;
  const { size } = textureLayout(batch, T, D);
  return sources.map(([source, start, layout]) => {
    const rows = `${g.heads} heads, strides ${layout.outer}/${layout.head}/${layout.row}`;
    const key = `attention.operand ${batch}x${T}x${D} from ${start}, ${rows}: ${size.join("x")} rgba32float`;
    return keptPacking(source, key, size, (packed) =>
      engine.backend.dispatch({
        shader: "attention",
        entry: "attention_pack",
        constants: { HEAD_DIM: D },
        params: attentionParams(g, scale, [start, layout]),
        buffers: [source.buffer, packed],
        workgroups: [Math.ceil(D / 64), Math.ceil(T / 4), batch],
      }));
  });
}

/** q, k, v of qkv: each part with the element it starts at. */
function qkvParts(qkv: Tensor, g: AttentionGeometry): Operand[] {
  return [0, 1, 2].map((i) => [qkv, i * g.qkv.part, g.qkv]);
}

function dispatchBlocks(
  shader: "attention" | "attention_backward" | "attention_double_backward",
  entry: string,
  D: number,
  params: Uint32Array,
  resources: (GPUBuffer | GPUTextureView | null)[],
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

const NO_PACK: [number, RowLayout] = [0, { outer: 0, head: 0, row: 0, part: 0 }];

/** The params block (Params in shaders/lib/attention_blocks.wgsl); `pack`: attention_pack's operand start and layout. */
function attentionParams(g: AttentionGeometry, scale: number, [packStart, pack] = NO_PACK): Uint32Array {
  const params = new Params().u32(g.batch).u32(g.T).f32(scale).u32(textureLayout(g.batch, g.T, g.D).perLayer).u32(g.heads).u32(packStart).u32(0).u32(0);
  for (const layout of [pack, g.qkv, g.o]) params.u32(layout.outer).u32(layout.head).u32(layout.row).u32(layout.part);
  return params.build();
}

/**
 * Flat [batch·T·D + batch·T]: o = softmax(scale·q·kᵀ)·v of qkv ([batch, T, D] for a [3, batch, T, D]
 * stack, [B, T, H, D] for a [B, T, 3, H, D] projection), then each row's log-sum-exp of the scores.
 */
export function attentionKernel(qkv: Tensor, scale: number): Tensor {
  const g = checkInputs("attention", qkv);
  const { batch, T, D } = g;
  const out = engine.allocate("attention", [batch * T * (D + 1)]);
  const params = attentionParams(g, scale);
  const textures = stageTextures(qkvParts(qkv, g), g, scale);
  dispatchBlocks("attention", "attention_forward", D, params, [...textures, out.buffer], T, batch);
  return out;
}

/** Checks the packed output (o, then lse) and its cotangent (dO, then d lse) of qkv. */
function checkPacked(op: string, qkv: Tensor, { batch, T, D }: AttentionGeometry, packed: Tensor, cotangent: Tensor): void {
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

/** dq, dk, dv laid out like qkv, from the packed output and a cotangent of it (dO, then d lse). */
export function attentionBackwardKernel(qkv: Tensor, packed: Tensor, cotangent: Tensor, scale: number): Tensor {
  const g = checkInputs("attentionBackward", qkv);
  const { batch, T, D } = g;
  checkPacked("attentionBackward", qkv, g, packed, cotangent);
  const params = attentionParams(g, scale);
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
  const textures = stageTextures([...qkvParts(qkv, g), [cotangent, 0, g.o]], g, scale);
  const grads = engine.allocate("attentionBackward", qkv.shape);
  const resources = [...textures, packed.buffer, delta.buffer, grads.buffer];
  dispatchBlocks("attention_backward", "attention_grad_q", D, params, resources, T, batch);
  dispatchBlocks("attention_backward", "attention_grad_kv", D, params, resources, T, batch);
  delta.dispose();
  return grads;
}

/**
 * Flat [4·batch·T·D + batch·T]: the vector–Jacobian product of attentionBackward for the cotangent
 * (laid out like qkv) of its result (shaders/attention_double_backward.wgsl): q̄, k̄, v̄ laid out like
 * qkv, then the cotangent of the packed cotangent (dŌ laid out like o, then that of d lse). The
 * packed output is read for its lse only.
 */
export function attentionDoubleBackwardKernel(cotangentOfGrads: Tensor, qkv: Tensor, packed: Tensor, cotangent: Tensor, scale: number): Tensor {
  const g = checkInputs("attentionDoubleBackward", qkv, fusedAttentionDoubleBackwardFits);
  const { batch, T, D } = g;
  checkPacked("attentionDoubleBackward", qkv, g, packed, cotangent);
  if (shapeString(cotangentOfGrads.shape) !== shapeString(qkv.shape)) {
    throw new Error(`attentionDoubleBackward: the cotangent of the gradients must be qkv's shape ${shapeString(qkv.shape)}, got ${shapeString(cotangentOfGrads.shape)}`);
  }
  const params = attentionParams(g, scale);
  const views = stageTextures([...qkvParts(qkv, g), [cotangent, 0, g.o], ...qkvParts(cotangentOfGrads, g)], g, scale);
  // dS, S̄ and dP̄ as [batch, 3, T keys, ⌈T/4⌉] vec4s of queries: the rows kernel writes them, the keys kernel reads them.
  const stored = engine.allocate("attentionDoubleBackward", [batch, 3, T, 4 * Math.ceil(T / 4)]);
  const out = engine.allocate("attentionDoubleBackward", [4 * batch * T * D + batch * T]);
  const [q, k, v, dO, cotQ, cotK, cotV] = views;
  const rows = [q, k, v, dO, packed.buffer, stored.buffer, out.buffer, cotQ, cotK, cotV, cotangent.buffer];
  dispatchBlocks("attention_double_backward", "attention_double_rows", D, params, rows, T, batch);
  const keys = [q, null, null, dO, null, stored.buffer, out.buffer, cotQ];
  dispatchBlocks("attention_double_backward", "attention_double_keys", D, params, keys, T, batch);
  stored.dispose();
  return out;
}
