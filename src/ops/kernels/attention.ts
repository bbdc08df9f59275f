/** Launchers for the fused attention kernels (shaders/attention.wgsl). */
import { engine } from "../../engine.ts";
import { grid1d } from "../../backend/backend.ts";
import { Params } from "../../backend/params.ts";
import type { Tensor } from "../../tensor.ts";
import { shapeString } from "../shape.ts";

/** Must match shaders/attention.wgsl: blocks of 16 rows, 16 lanes each holding one vec4 chunk of D. */
const BLOCK = 16;
export const MAX_FUSED_HEAD_DIM = 64;

/** Whether the fused kernels handle head dim D (a multiple of 4, at most 64). */
export function fusedAttentionFits(headDim: number): boolean {
  return headDim > 0 && headDim % 4 === 0 && headDim <= MAX_FUSED_HEAD_DIM;
}

function checkInputs(op: string, q: Tensor, k: Tensor, v: Tensor): [number, number, number] {
  const same = [k, v].every((t) => t.rank === 3 && t.shape.every((d, i) => d === q.shape[i]));
  if (q.rank !== 3 || !same) {
    throw new Error(`${op}: q, k, v must all be [batch, T, D], got ${shapeString(q.shape)}, ${shapeString(k.shape)}, ${shapeString(v.shape)}`);
  }
  const [batch, T, D] = q.shape;
  if (T === 0 || batch === 0) throw new Error(`${op}: empty batch or sequence in ${shapeString(q.shape)}`);
  if (!fusedAttentionFits(D)) {
    throw new Error(`${op}: the fused kernel needs a head dim that is a multiple of 4 and at most ${MAX_FUSED_HEAD_DIM}, got ${D}`);
  }
  const maxGroups = engine.backend.limits.maxComputeWorkgroupsPerDimension;
  if (batch > maxGroups) throw new Error(`${op}: batch·heads ${batch} exceeds ${maxGroups} workgroups`);
  return [batch, T, D];
}

function dispatchBlocks(entry: string, D: number, params: Uint32Array, tensors: Tensor[], T: number, batch: number): void {
  engine.backend.dispatch({
    shader: "attention",
    entry,
    constants: { HEAD_DIM: D },
    params,
    buffers: tensors.map((t) => t.buffer),
    workgroups: [Math.ceil(T / BLOCK), batch],
  });
}

/** Flat [batch·T·D + batch·T]: softmax(scale·q·kᵀ)·v, then each row's log-sum-exp of the scores. */
export function attentionKernel(q: Tensor, k: Tensor, v: Tensor, scale: number): Tensor {
  const [batch, T, D] = checkInputs("attention", q, k, v);
  const out = engine.allocate("attention", [batch * T * (D + 1)]);
  const params = new Params().u32(batch).u32(T).f32(scale).build();
  dispatchBlocks("attention_forward", D, params, [q, k, v, out], T, batch);
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
  const params = new Params().u32(batch).u32(T).f32(scale).build();
  // δ_i = dO_i·o_i − dlse_i, shared by both gradient kernels.
  const delta = engine.allocate("attentionBackward", [batch, T]);
  engine.backend.dispatch({
    shader: "attention",
    entry: "attention_delta",
    constants: { HEAD_DIM: D },
    params,
    buffers: [packed.buffer, cotangent.buffer, delta.buffer],
    workgroups: grid1d(batch * T, 64, engine.backend.limits.maxComputeWorkgroupsPerDimension),
  });
  const grads = engine.allocate("attentionBackward", [3, batch, T, D]);
  const tensors = [q, k, v, packed, cotangent, delta, grads];
  dispatchBlocks("attention_grad_q", D, params, tensors, T, batch);
  dispatchBlocks("attention_grad_kv", D, params, tensors, T, batch);
  delta.dispose();
  return grads;
}
