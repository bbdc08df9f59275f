/**
 * Scaled dot-product attention, softmax(scale·q·kᵀ)·v, two ways:
 *   fused:    one FlashAttention-style kernel (primitive `attention`, on q, k, v stacked as one
 *             [3, batch, T, D] tensor, or read per head from a [B, T, 3, H, D] qkv projection and
 *             written as [B, T, H, D]) that never stores the T×T scores; its gradient is the fused
 *             primitive `attentionBackward` (the stacked dq, dk, dv), whose own gradient
 *             (`attentionBackwardVjp`) is the fused primitive `attentionDoubleBackward` or the same
 *             in public ops, and that one's gradient is written with public ops, so any order works;
 *   composed: matmul → softmax → matmul, the reference the fused path is tested against.
 */
import type { Tensor } from "../tensor.ts";
import { engine } from "../engine.ts";
import type { AttentionDoubleBackwardVariant, AttentionVariant } from "../backend/kernel_policy.ts";
import { apply } from "./apply.ts";
import { scalar, zeros } from "./creation.ts";
import { add, exp, mul, neg, sub } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { concat, permute, reshape, slice } from "./movement.ts";
import { sum } from "./reduce.ts";
import { softmax } from "./softmax.ts";
import { shapeString } from "./shape.ts";
import { attentionGeometry, fusedAttentionDoubleBackwardFits, fusedAttentionFits } from "./kernels/attention.ts";

export type AttentionImplementation = AttentionVariant;

export interface AttentionOptions {
  /** Multiplies q·kᵀ before the softmax; default 1/√D. */
  scale?: number;
  /**
   * Default: the kernel policy's choice (`backend.kernels.variants.attention`, "fused" unless set
   * otherwise), falling back to composed where fused does not apply (unequal query and key lengths,
   * a head dim that is not a multiple of 4 or above 64, beyond the device's limits).
   */
  implementation?: AttentionImplementation;
}

/** q [..., Tq, D], k [..., Tk, D], v [..., Tk, Dv] with equal leading axes (e.g. [B, H, T, D]) → [..., Tq, Dv]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const shapes = () => `q ${shapeString(q.shape)}, k ${shapeString(k.shape)}, v ${shapeString(v.shape)}`;
  const rank = q.rank;
  const lead = q.shape.slice(0, -2);
  const sameLead = [k, v].every((t) => t.rank === rank && t.shape.slice(0, -2).every((d, i) => d === lead[i]));
  if (rank < 2 || !sameLead) throw new Error(`attention: q, k, v need rank ≥ 2 and equal leading axes (${shapes()})`);
  const [T, D] = q.shape.slice(-2);
  const [Tk, Dk] = k.shape.slice(-2);
  const [Tv, Dv] = v.shape.slice(-2);
  if (Dk !== D || Tv !== Tk) throw new Error(`attention: q and k need one head dim and k, v one length (${shapes()})`);
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const batch = lead.reduce((a, b) => a * b, 1);
  const fusable = Tk === T && Dv === D && fusedAttentionFits(batch, T, D);
  if (chooseImplementation(fusable, options, shapes) === "composed") return composedAttention(q, k, v, scale);
  return fusedAttention(concat([q, k, v].map((t) => reshape(t, [1, batch, T, D]))), scale, q.shape);
}

/**
 * Self-attention of q, k, v stacked on a leading axis: qkv [3, ..., T, D] → [..., T, D], as
 * attention(qkv[0], qkv[1], qkv[2]). The fused kernel reads the stack as it is, and its gradient is
 * one stacked tensor: no slices whose gradients are padded back and summed.
 */
export function packedAttention(qkv: Tensor, options: AttentionOptions = {}): Tensor {
  const shapes = () => `qkv ${shapeString(qkv.shape)}`;
  if (qkv.rank < 3 || qkv.shape[0] !== 3) throw new Error(`packedAttention: qkv must be [3, ..., T, D] (${shapes()})`);
  const shape = qkv.shape.slice(1);
  const [T, D] = shape.slice(-2);
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const batch = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  if (chooseImplementation(fusedAttentionFits(batch, T, D), options, shapes) === "composed") {
    const [q, k, v] = [0, 1, 2].map((i) => reshape(slice(qkv, [i, ...shape.map(() => 0)], [1, ...shape]), shape));
    return composedAttention(q, k, v, scale);
  }
  return fusedAttention(reshape(qkv, [3, batch, T, D]), scale, shape);
}

/**
 * Multi-head self-attention of a qkv projection laid out [B, T, 3, H, D] (the qkv linear layer's
 * output reshaped, as timm's ViT does before its permute) → [B, T, H, D] (reshaped: [B, T, H·D]).
 * The fused kernels read q, k, v per head where they lie and write each head's output in place, and
 * the gradient comes back in the projection's layout: no permutes on either side.
 */
export function qkvAttention(qkv: Tensor, options: AttentionOptions = {}): Tensor {
  const shapes = () => `qkv ${shapeString(qkv.shape)}`;
  if (qkv.rank !== 5 || qkv.shape[2] !== 3) throw new Error(`qkvAttention: qkv must be [B, T, 3, H, D] (${shapes()})`);
  const [B, T, , H, D] = qkv.shape;
  const scale = options.scale ?? 1 / Math.sqrt(D);
  if (chooseImplementation(fusedAttentionFits(B * H, T, D), options, shapes) === "composed") {
    const [q, k, v] = [0, 1, 2].map((i) => permute(reshape(slice(qkv, [0, 0, i, 0, 0], [B, T, 1, H, D]), [B, T, H, D]), [0, 2, 1, 3]));
    return permute(composedAttention(q, k, v, scale), [0, 2, 1, 3]);
  }
  return reshape(slice(attentionPacked(qkv, scale), [0], [B * T * H * D]), [B, T, H, D]);
}

function chooseImplementation(fusable: boolean, options: AttentionOptions, shapes: () => string): AttentionImplementation {
  const implementation = options.implementation ?? (fusable ? engine.backend.kernels.variants.attention : "composed");
  if (implementation === "fused" && !fusable) {
    throw new Error(
      `attention: the fused kernel needs Tq = Tk, Dv = D and a head dim that is a multiple of 4, at most 64, ` +
        `within this device's limits (${shapes()}); use implementation "composed"`,
    );
  }
  return implementation;
}

/** The fused kernel on qkv [3, batch, T, D]; the output's leading part (o, without the log-sum-exps) as `shape`. */
function fusedAttention(qkv: Tensor, scale: number, shape: readonly number[]): Tensor {
  const [, batch, T, D] = qkv.shape;
  return reshape(slice(attentionPacked(qkv, scale), [0], [batch * T * D]), shape);
}

/**
 * The fused forward's flat output for qkv [3, batch, T, D] or [B, T, 3, H, D]: o ([batch, T, D] or
 * [B, T, H, D]), then each row's log-sum-exp ([batch, T], batch = B·H).
 */
export function attentionPacked(qkv: Tensor, scale: number): Tensor {
  return apply("attention", [qkv], { scale });
}

function composedAttention(q: Tensor, k: Tensor, v: Tensor, scale: number): Tensor {
  // Scaling q rather than the scores keeps the scalar's own gradient (a full reduction) at T×D.
  return matmul(softmax(matmul(mul(q, scale), k, { transB: true }), -1), v);
}

/** The fused backward: dq, dk, dv laid out like qkv (see shaders/attention_backward.wgsl). */
export function attentionBackward(qkv: Tensor, packed: Tensor, cotangent: Tensor, scale: number): Tensor {
  return apply("attentionBackward", [qkv, packed, cotangent], { scale });
}

/**
 * The fused gradient of attentionBackward (see attentionBackwardVjp), flat: q̄, k̄, v̄ laid out like
 * qkv, then the cotangent of the packed cotangent (dŌ laid out like o, then that of d lse).
 */
export function attentionDoubleBackward(cotangentOfGrads: Tensor, qkv: Tensor, packed: Tensor, cotangent: Tensor, scale: number): Tensor {
  return apply("attentionDoubleBackward", [cotangentOfGrads, qkv, packed, cotangent], { scale });
}

/**
 * The composed formulas below work on a [3, batch, T, D] stack and o as [batch, T, D]. For a
 * [B, T, 3, H, D] projection (o [B, T, H, D]) its tensors are permuted into that layout and the
 * results back: the permutations are orthogonal, so the vector–Jacobian products carry over.
 */
class ProjectionLayout {
  private readonly B: number;
  private readonly T: number;
  private readonly H: number;
  private readonly D: number;

  constructor(qkv: Tensor) {
    [this.B, this.T, , this.H, this.D] = qkv.shape;
  }

  /** Of the o part of a packed tensor (o, then one value per row). */
  private get outputs(): number {
    return this.B * this.T * this.H * this.D;
  }

  /** [B, T, 3, H, D] → [3, B·H, T, D]. */
  stack(t: Tensor): Tensor {
    const { B, T, H, D } = this;
    return reshape(permute(t, [2, 0, 3, 1, 4]), [3, B * H, T, D]);
  }

  /** [3, B·H, T, D] → [B, T, 3, H, D]. */
  unstack(t: Tensor): Tensor {
    const { B, T, H, D } = this;
    return permute(reshape(t, [3, B, H, T, D]), [1, 3, 0, 2, 4]);
  }

  /** A packed tensor with o [B, T, H, D] → with o [B·H, T, D] (the rows' values keep their order). */
  stackPacked(t: Tensor): Tensor {
    const { B, T, H, D } = this;
    return this.movePacked(t, [B, T, H, D]);
  }

  /** A packed tensor with o [B·H, T, D] → with o [B, T, H, D]. */
  unstackPacked(t: Tensor): Tensor {
    const { B, T, H, D } = this;
    return this.movePacked(t, [B, H, T, D]);
  }

  private movePacked(t: Tensor, shape: number[]): Tensor {
    const n = this.outputs;
    const o = reshape(permute(reshape(slice(t, [0], [n]), shape), [0, 2, 1, 3]), [n]);
    return concat([o, slice(t, [n], [t.size - n])]);
  }

  /** attentionDoubleBackward's flat result (q̄, k̄, v̄ like qkv, then a packed tensor) → the stacked layout. */
  stackDoubleBackward(t: Tensor): Tensor {
    const grads = 3 * this.outputs;
    const qkvShape = [this.B, this.T, 3, this.H, this.D];
    return concat([reshape(this.stack(reshape(slice(t, [0], [grads]), qkvShape)), [grads]), this.stackPacked(slice(t, [grads], [t.size - grads]))]);
  }
}

/** The three [batch, T, D] parts of a [3, batch, T, D] stack. */
function unstack(stack: Tensor): [Tensor, Tensor, Tensor] {
  const [, batch, T, D] = stack.shape;
  const part = (i: number) => reshape(slice(stack, [i, 0, 0, 0], [1, batch, T, D]), [batch, T, D]);
  return [part(0), part(1), part(2)];
}

/**
 * Vector–Jacobian product of attentionBackward. With S = scale·q·kᵀ, P = softmax(S),
 * cotangent = (dO, γ), δ = rowsum(P∘dP) − γ, dP = dO·vᵀ, dS = P∘(dP − δ), and incoming cotangents
 * A, B, C of dq = scale·dS·k, dk = scale·dSᵀ·q, dv = Pᵀ·dO:
 *   W = scale·(A·kᵀ + q·Bᵀ) (cotangent of dS), w = rowsum(W∘P),
 *   P̄ = W∘(dP − δ) − w∘dP + dO·Cᵀ,   dP̄ = P∘(W − w),   S̄ = P∘(P̄ − rowsum(P̄∘P)),
 *   q̄ = scale·(dS·B + S̄·k),   k̄ = scale·(dSᵀ·A + S̄ᵀ·q),   v̄ = dP̄ᵀ·dO,   dŌ = P·C + dP̄·v,   γ̄ = w.
 * P is exp(scale·q·kᵀ − lse) with lse from the packed forward output. attentionBackward itself
 * depends on the packed output only through q, k, v, so the packed output gets no cotangent here
 * (its dependence is already in q̄, k̄, v̄). q̄, k̄, v̄ come back laid out like qkv.
 * The fused kernels (primitive attentionDoubleBackward, shaders/attention_double_backward.wgsl)
 * compute it where the kernel policy's `attentionDoubleBackward` is "fused" (the default) and the
 * shapes fit; the composition in public ops is the reference and the fallback.
 */
export function attentionBackwardVjp(
  cotangentOfGrads: Tensor,
  qkv: Tensor,
  packed: Tensor,
  cotangent: Tensor,
  scale: number,
  implementation?: AttentionDoubleBackwardVariant,
): [Tensor, Tensor] {
  const geometry = attentionGeometry(qkv);
  if (!geometry) throw new Error(`attentionBackwardVjp: qkv must be [3, batch, T, D] or [B, T, 3, H, D], got ${shapeString(qkv.shape)}`);
  const { batch, T, D } = geometry;
  const projection = qkv.rank === 5 ? new ProjectionLayout(qkv) : null;
  const chosen = implementation ??
    (fusedAttentionDoubleBackwardFits(batch, T, D) ? engine.backend.kernels.variants.attentionDoubleBackward : "composed");
  if (chosen === "composed" && projection) {
    const [grads, ofCotangent] = attentionBackwardVjp(
      projection.stack(cotangentOfGrads), projection.stack(qkv), projection.stackPacked(packed), projection.stackPacked(cotangent), scale, "composed",
    );
    return [projection.unstack(grads), projection.unstackPacked(ofCotangent)];
  }
  if (chosen === "composed") {
    const x = composedVjpParts(cotangentOfGrads, qkv, packed, cotangent, scale);
    const stacked = concat([x.qBar, x.kBar, x.vBar].map((t) => reshape(t, [1, batch, T, D])));
    return [stacked, concat([reshape(x.dOBar, [-1]), reshape(x.wRow, [-1])])];
  }
  const out = attentionDoubleBackward(cotangentOfGrads, qkv, packed, cotangent, scale);
  const grads = 3 * batch * T * D;
  return [reshape(slice(out, [0], [grads]), qkv.shape), slice(out, [grads], [batch * T * (D + 1)])];
}

/** The composed vector–Jacobian product of attentionBackward, with the intermediates its own gradient reads. */
function composedVjpParts(cotangentOfGrads: Tensor, qkv: Tensor, packed: Tensor, cotangent: Tensor, scale: number) {
  const [q, k, v] = unstack(qkv);
  const [batch, T, D] = q.shape;
  const [a, b, c] = unstack(cotangentOfGrads);
  const rows = batch * T;
  const dO = reshape(slice(cotangent, [0], [rows * D]), [batch, T, D]);
  const dLse = reshape(slice(cotangent, [rows * D], [rows]), [batch, T, 1]);
  // P from the forward's log-sum-exps: a higher order differentiates lse through the packed output
  // (the attention primitive's own rule), so the total derivative in q and k stays exact.
  const lse = reshape(slice(packed, [rows * D], [rows]), [batch, T, 1]);
  const scaleT = scalar(scale); // one fill, not one per product
  const p = exp(sub(mul(matmul(q, k, { transB: true }), scaleT), lse));
  const dP = matmul(dO, v, { transB: true });
  const centred = sub(dP, sub(sum(mul(p, dP), -1, true), dLse));
  const dS = mul(p, centred);
  const w = mul(add(matmul(a, k, { transB: true }), matmul(q, b, { transB: true })), scaleT);
  const wRow = sum(mul(w, p), -1, true);
  const pBar = add(sub(mul(w, centred), mul(wRow, dP)), matmul(dO, c, { transB: true }));
  const dPBar = mul(p, sub(w, wRow));
  const sBar = mul(p, sub(pBar, sum(mul(pBar, p), -1, true)));
  const qBar = mul(add(matmul(dS, b), matmul(sBar, k)), scaleT);
  const kBar = mul(add(matmul(dS, a, { transA: true }), matmul(sBar, q, { transA: true })), scaleT);
  const vBar = matmul(dPBar, dO, { transA: true });
  const dOBar = add(matmul(p, c), matmul(dPBar, v));
  return { q, k, v, a, b, c, dO, scaleT, p, dP, centred, dS, w, wRow, pBar, dPBar, sBar, qBar, kBar, vBar, dOBar };
}

/**
 * Vector–Jacobian product of attentionDoubleBackward (needed from the third order on): the
 * derivative of the composition above, spelled out in public ops step by step backwards. `h` is
 * the cotangent of the primitive's flat result (q̄, k̄, v̄, dŌ, γ̄); the result holds the cotangents
 * of its inputs (cotangentOfGrads, qkv, packed, cotangent), the packed output's in its lse part only.
 */
export function attentionDoubleBackwardVjp(h: Tensor, [cotangentOfGrads, qkv, packed, cotangent]: Tensor[], scale: number): Tensor[] {
  if (qkv.rank === 5) {
    const p = new ProjectionLayout(qkv);
    const [a, b, c, d] = attentionDoubleBackwardVjp(
      p.stackDoubleBackward(h), [p.stack(cotangentOfGrads), p.stack(qkv), p.stackPacked(packed), p.stackPacked(cotangent)], scale,
    );
    return [p.unstack(a), p.unstack(b), p.unstackPacked(c), p.unstackPacked(d)];
  }
  const x = composedVjpParts(cotangentOfGrads, qkv, packed, cotangent, scale);
  const { q, k, v, a, b, c, dO, scaleT: s, p, dP, centred, dS, w, wRow, pBar, dPBar, sBar } = x;
  const [batch, T, D] = q.shape;
  const part = batch * T * D;
  const [hq, hk, hv] = unstack(reshape(slice(h, [0], [3 * part]), [3, batch, T, D]));
  const hdO = reshape(slice(h, [3 * part], [part]), [batch, T, D]);
  const hGamma = reshape(slice(h, [4 * part], [batch * T]), [batch, T, 1]);
  const rowSum = (t: Tensor) => sum(t, -1, true);
  const transB = { transB: true };
  const transA = { transA: true };
  // Cotangents of the T×T intermediates, from the outputs back to P.
  const gDS = mul(add(matmul(a, hk, transB), matmul(hq, b, transB)), s);
  const gSBar = mul(add(matmul(q, hk, transB), matmul(hq, k, transB)), s);
  const gDPBar = add(matmul(hdO, v, transB), matmul(dO, hv, transB));
  const gSBarP = rowSum(mul(gSBar, p));
  const gPBar = mul(p, sub(gSBar, gSBarP));
  const gW0 = rowSum(mul(gDPBar, p));
  const gWRow = sub(sub(hGamma, gW0), rowSum(mul(gPBar, dP)));
  const gW = add(add(mul(gDPBar, p), mul(gPBar, centred)), mul(gWRow, p));
  const gCentred = add(mul(gPBar, w), mul(gDS, p));
  const gCentredRow = rowSum(gCentred);
  const gDP = sub(sub(gCentred, mul(gCentredRow, p)), mul(wRow, gPBar));
  const rho = rowSum(mul(pBar, p));
  const gP = sub(
    add(add(matmul(hdO, c, transB), mul(gSBar, sub(pBar, rho))), add(add(mul(gDPBar, sub(w, wRow)), mul(gWRow, w)), mul(gDS, centred))),
    add(mul(gSBarP, pBar), mul(gCentredRow, dP)),
  );
  const gZ = mul(gP, p);
  // Cotangents of the inputs.
  const gq = mul(add(add(matmul(gZ, k), matmul(gW, b)), matmul(sBar, hk)), s);
  const gk = mul(add(add(matmul(gZ, q, transA), matmul(gW, a, transA)), matmul(sBar, hq, transA)), s);
  const gv = add(matmul(gDP, dO, transA), matmul(dPBar, hdO, transA));
  const gA = mul(add(matmul(gW, k), matmul(dS, hk)), s);
  const gB = mul(add(matmul(gW, q, transA), matmul(dS, hq, transA)), s);
  const gC = add(matmul(gPBar, dO, transA), matmul(p, hdO, transA));
  const gdO = add(add(matmul(gPBar, c), matmul(dPBar, hv)), matmul(gDP, v));
  const stack = (ts: Tensor[]) => concat(ts.map((t) => reshape(t, [1, batch, T, D])));
  const flat = (ts: Tensor[]) => concat(ts.map((t) => reshape(t, [-1])));
  return [
    stack([gA, gB, gC]),
    stack([gq, gk, gv]),
    flat([zeros([part]), neg(rowSum(gZ))]),
    flat([gdO, gCentredRow]),
  ];
}
