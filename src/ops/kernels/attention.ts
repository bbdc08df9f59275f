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

function checkInputs(op: string, q: Tensor, k: Tensor, v: Tensor): [number, number, number] {
  const same = [k, v].every((t) => t.rank === 3 && t.shape.every((d, i) => d === q.shape[i]));
  if (q.rank !== 3 || !same) {
    throw new Error(`${op}: q, k, v must all be [batch, T, D], got ${shapeString(q.shape)}, ${shapeString(k.shape)}, ${shapeString(v.shape)}`);
  }
  const [batch, T, D] = q.shape;
  if (!fusedAttentionFits(batch, T, D)) {
    throw new Error(
      `${op}: the fused kernel needs a non-empty [batch, T, D] with D a multiple of 4, at most ${MAX_FUSED_HEAD_DIM}, ` +
        `within this device's workgroup-memory and texture limits; got ${shapeString(q.shape)}`,
    );
  }
  return [batch, T, D];
}

/** Stages [batch, T, D] operands (dO: the leading part of a packed cotangent) as texture arrays. */
function stageTextures(roles: string[], sources: Tensor[], batch: number, T: number, D: number, params: Uint32Array): ScratchTexture[] {
  const { size } = textureLayout(batch, T, D);
  const textures = engine.backend.scratchTextures("rgba32float", roles.map((role) => ({ role: `attention.${role}`, size })));
  sources.forEach((source, i) => {
    engine.backend.dispatch({
      shader: "attention",
      entry: "attention_pack",
      constants: { HEAD_DIM: D },
      params,
      buffers: [source.buffer, textures[i].view],
      workgroups: [Math.ceil(D / 64), Math.ceil(T / 4), batch],
    });
  });
  return textures;
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

function attentionParams(batch: number, T: number, D: number, scale: number): Uint32Array {
  return new Params().u32(batch).u32(T).f32(scale).u32(textureLayout(batch, T, D).perLayer).build();
}

/** Flat [batch·T·D + batch·T]: softmax(scale·q·kᵀ)·v, then each row's log-sum-exp of the scores. */
export function attentionKernel(q: Tensor, k: Tensor, v: Tensor, scale: number): Tensor {
  const [batch, T, D] = checkInputs("attention", q, k, v);
  const out = engine.allocate("attention", [batch * T * (D + 1)]);
  const params = attentionParams(batch, T, D, scale);
  const textures = stageTextures(["q", "k", "v"], [q, k, v], batch, T, D, params);
  dispatchBlocks("attention", "attention_forward", D, params, [...textures.map((t) => t.view), out.buffer], T, batch);
  return out;
}

/** [3, batch, T, D]: dq, dk, dv from the packed output and a cotangent of it (dO, then d lse). */
export function attentionBackwardKernel(q: Tensor, k: Tensor, v: Tensor, packed: Tensor, cotangent: Tensor, scale: number): Tensor {
  const [batch, T, D] = checkInputs("attentionBackward", q, k, v);
  const size = batch * T * (D + 1);
  for (const [name, t] of [["packed output", packed], ["cotangent", cotangent]] as const) {
    if (t.rank !== 1 || t.size !== size) {
      throw new Error(`attentionBackward: ${name} must be [${size}] for q ${shapeString(q.shape)}, got ${shapeString(t.shape)}`);
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
  const textures = stageTextures(["q", "k", "v", "dO"], [q, k, v, cotangent], batch, T, D, params);
  const grads = engine.allocate("attentionBackward", [3, batch, T, D]);
  const resources = [...textures.map((t) => t.view), packed.buffer, delta.buffer, grads.buffer];
  dispatchBlocks("attention_backward", "attention_grad_q", D, params, resources, T, batch);
  dispatchBlocks("attention_backward", "attention_grad_kv", D, params, resources, T, batch);
  delta.dispose();
  return grads;
}
