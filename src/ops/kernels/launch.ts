/** Small helpers every launcher uses. */
import { engine } from "../../engine.ts";
import { grid1d } from "../../backend/backend.ts";
import type { ShaderName } from "../../backend/shader_sources.ts";
import type { Tensor } from "../../tensor.ts";
import type { Disposable } from "../../storage.ts";

/** Dispatches an elementwise-shaped kernel: one thread per output element, 256 per workgroup. */
export function launchFlat(
  shader: ShaderName,
  entry: string,
  params: Uint32Array,
  tensors: Tensor[],
  threads: number,
  constants?: Record<string, number>,
): void {
  if (threads === 0) return;
  engine.backend.dispatch({
    shader,
    entry,
    constants,
    params,
    buffers: tensors.map((t) => t.buffer),
    workgroups: grid1d(threads, 256, engine.backend.limits.maxComputeWorkgroupsPerDimension),
  });
}

/**
 * An rgba32float texture of `size` that `record` fills from t's contents, kept beside t's storage
 * (Storage.derived) until t is freed: for operands several kernels read in one packed layout, which
 * `key` names.
 */
export function keptPacking(
  t: Tensor,
  key: string,
  size: [number, number, number],
  record: (view: GPUTextureView) => void,
): GPUTextureView {
  return t.storage.derived(key, () => {
    const packed = engine.backend.keptTexture(key, size, "rgba32float");
    record(packed.view);
    return packed;
  }).view;
}

/**
 * A second result that one kernel writes for a later call (a pair kernel: layer norm's and GELU's
 * double backward), kept beside an operand's storage (Storage.derived, under a key naming the
 * call) until that storage is freed; the later call returns a view of it.
 */
export class PairedResult implements Disposable {
  tensor: Tensor | null = null;

  dispose(): void {
    this.tensor?.dispose();
    this.tensor = null;
  }
}
