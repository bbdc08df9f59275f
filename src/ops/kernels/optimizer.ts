/**
 * Launchers of the fused optimizer updates (shaders/optimizer.wgsl): one dispatch per parameter
 * reads the parameter, its gradient and its state and returns the new parameter and state as new
 * tensors. Not primitives: an update is never differentiated.
 */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import type { Tensor } from "../../tensor.ts";
import { launchFlat } from "./launch.ts";

export interface SgdUpdate {
  lr: number;
  weightDecay: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

export interface AdamWUpdate {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** The step's number, from 1: sets the bias corrections 1 − βᵗ. */
  step: number;
}

/**
 * Dispatches `entry` over `size` values, four per thread where the size allows (the `_vec4` entry
 * points); `fields` writes the parameter block after its first word, the count of threads' items.
 */
function launchUpdate(entry: string, size: number, tensors: Tensor[], fields: (params: Params) => Params): void {
  const vec4 = size % 4 === 0;
  const threads = vec4 ? size / 4 : size;
  launchFlat("optimizer", vec4 ? `${entry}_vec4` : entry, fields(new Params().u32(threads)).build(), tensors, threads);
}

function checkOperands(name: string, p: Tensor, others: (Tensor | undefined)[]): void {
  for (const t of others) {
    if (t && (t.dtype !== "float32" || t.size !== p.size)) {
      throw new Error(`${name}: expects float32 operands of ${p.size} values, got ${t.dtype} [${t.shape}]`);
    }
  }
}

/**
 * torch.optim.SGD's update of `p` from gradient `g` and momentum buffer `buffer` (none before the
 * first step): the new parameter, and the new buffer when momentum is on.
 */
export function sgdUpdateKernel(p: Tensor, g: Tensor, buffer: Tensor | undefined, o: SgdUpdate): { param: Tensor; buffer?: Tensor } {
  checkOperands("sgd", p, [g, buffer]);
  const fields = (params: Params) =>
    params.f32(o.lr).f32(o.weightDecay).f32(o.momentum).f32(1 - o.dampening).u32(o.nesterov ? 1 : 0).u32(buffer ? 0 : 1);
  const param = engine.allocate("sgd", p.shape);
  if (!o.momentum) {
    launchUpdate("sgd", p.size, [p, g, param], fields);
    return { param };
  }
  const next = engine.allocate("sgd", p.shape);
  // Before the first step there is no buffer: the kernel does not read its binding, g stands in.
  launchUpdate("sgd_momentum", p.size, [p, g, buffer ?? g, param, next], fields);
  return { param, buffer: next };
}

/** torch.optim.AdamW's update of `p` from gradient `g` and moments m, v (none before the first step). */
export function adamWUpdateKernel(
  p: Tensor,
  g: Tensor,
  moments: { m: Tensor; v: Tensor } | undefined,
  o: AdamWUpdate,
): { param: Tensor; m: Tensor; v: Tensor } {
  checkOperands("adamw", p, [g, moments?.m, moments?.v]);
  const [param, m, v] = [0, 1, 2].map(() => engine.allocate("adamw", p.shape));
  launchUpdate("adamw", p.size, [p, g, moments?.m ?? g, moments?.v ?? g, param, m, v], (params) =>
    params.f32(o.lr).f32(1 - o.lr * o.weightDecay).f32(o.beta1).f32(1 - o.beta1).f32(o.beta2).f32(1 - o.beta2)
      .f32(1 - o.beta1 ** o.step).f32(1 - o.beta2 ** o.step).f32(o.epsilon).u32(moments ? 0 : 1));
  return { param, m, v };
}
