/**
 * Launchers of the fused layer-norm kernels (shaders/layer_norm.wgsl): x [..., n] normalised over
 * its last axis, one thread per row.
 */
import { engine, keep } from "../../engine.ts";
import { grid1d } from "../../backend/backend.ts";
import { Params } from "../../backend/params.ts";
import type { Tensor } from "../../tensor.ts";
import { PairedResult } from "./launch.ts";

/** Threads per workgroup (WORKGROUP in the shader). */
const WORKGROUP = 32;
/** layer_norm_double_backward loops over a row four times; llvmpipe ends an invocation's loops after 65 535 iterations. */
const MAX_ROW = Math.floor(65535 / 4);

/** Whether the fused kernels take rows of `n` values of `dtype`: float32, 1 … 16 383 values. */
export function fusedLayerNormFits(n: number, dtype: string): boolean {
  return dtype === "float32" && n >= 1 && n <= MAX_ROW;
}

function checkOperands(op: string, x: Tensor, inputs: Tensor[]): void {
  if (x.rank < 1 || !fusedLayerNormFits(x.shape[x.rank - 1], x.dtype)) throw new Error(`${op}: x must be float32 [..., n] with 1 ≤ n ≤ ${MAX_ROW}, got ${x}`);
  for (const t of inputs) {
    if (t.dtype !== "float32" || t.rank !== x.rank || t.shape.some((d, i) => d !== x.shape[i])) {
      throw new Error(`${op}: ${t} must be float32 shaped like x ${x}`);
    }
  }
}

function launch(op: string, entry: string, x: Tensor, eps: number, inputs: Tensor[], outputs = 1): Tensor[] {
  checkOperands(op, x, inputs);
  const outs = Array.from({ length: outputs }, () => engine.allocate(op, x.shape));
  const n = x.shape[x.rank - 1];
  const rows = x.size / n;
  if (rows === 0) return outs;
  engine.backend.dispatch({
    shader: "layer_norm",
    // Rows of whole vec4s read four values at a time (the same results, bit for bit).
    entry: n % 4 === 0 ? `${entry}_vec4` : entry,
    params: new Params().u32(rows).u32(n).f32(eps).build(),
    buffers: [x.buffer, ...inputs.map((t) => t.buffer), ...outs.map((t) => t.buffer)],
    workgroups: grid1d(rows, WORKGROUP, engine.backend.limits.maxComputeWorkgroupsPerDimension),
  });
  return outs;
}

/**
 * ψ″·h = layerNormalizeBackward(x, h) is written by a double backward of (x, ·, h) and kept beside
 * h's storage (a PairedResult under this key) until layerNormalizeBackward(x, h) takes it:
 * layerNormalizeBackwardVjp asks for both. Names x by its tensor (ids are never reused), with eps.
 */
const pairedKey = (x: Tensor, eps: number) => `layerNormalizeBackward of tensor ${x.id} [${x.shape}] eps ${eps}`;

/** x̂ = (x − mean)·rsqrt(var + eps) per row of the last axis. */
export function layerNormalizeKernel(x: Tensor, eps: number): Tensor {
  return launch("layerNormalize", "layer_norm", x, eps, [])[0];
}

/** The gradient of ⟨g, x̂⟩ with respect to x: r·(g − mean(g) − x̂·mean(g·x̂)) per row. */
export function layerNormalizeBackwardKernel(x: Tensor, g: Tensor, eps: number): Tensor {
  checkOperands("layerNormalizeBackward", x, [g]);
  // A view: the kept tensor stays the storage's to free.
  const paired = g.storage.find<PairedResult>(pairedKey(x, eps))?.tensor;
  if (paired) return engine.view(paired, x.shape);
  return launch("layerNormalizeBackward", "layer_norm_backward", x, eps, [g])[0];
}

/**
 * The gradient of ⟨h, layerNormalizeBackward(x, g)⟩ with respect to x, per row; the same pass
 * writes layerNormalizeBackward(x, h) for the call that follows it (see pairedKey).
 */
export function layerNormalizeDoubleBackwardKernel(x: Tensor, g: Tensor, h: Tensor, eps: number): Tensor {
  const paired = h.storage.derived(pairedKey(x, eps), () => new PairedResult());
  if (paired.tensor) return launch("layerNormalizeDoubleBackward", "layer_norm_double_backward", x, eps, [g, h])[0];
  const [out, hBackward] = launch("layerNormalizeDoubleBackward", "layer_norm_double_backward_pair", x, eps, [g, h], 2);
  paired.tensor = keep(hBackward);
  return out;
}
