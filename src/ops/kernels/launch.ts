/** Small helpers every launcher uses. */
import { engine } from "../../engine.ts";
import { grid1d } from "../../backend/backend.ts";
import type { ShaderName } from "../../backend/shader_sources.ts";
import type { Tensor } from "../../tensor.ts";

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
