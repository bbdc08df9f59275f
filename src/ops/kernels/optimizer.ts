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
  const params = new Params().u32(p.size).f32(o.lr).f32(o.weightDecay).f32(o.momentum).f32(1 - o.dampening)
    .u32(o.nesterov ? 1 : 0).u32(buffer ? 0 : 1).build();
  const param = engine.allocate("sgd", p.shape);
  if (!o.momentum) {
    launchFlat("optimizer", "sgd", params, [p, g, param], p.size);
    return { param };
  }
  const next = engine.allocate("sgd", p.shape);
  // Before the first step there is no buffer: the kernel does not read its binding, g stands in.
  launchFlat("optimizer", "sgd_momentum", params, [p, g, buffer ?? g, param, next], p.size);
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
  const params = new Params().u32(p.size).f32(o.lr).f32(1 - o.lr * o.weightDecay).f32(o.beta1).f32(1 - o.beta1)
    .f32(o.beta2).f32(1 - o.beta2).f32(1 - o.beta1 ** o.step).f32(1 - o.beta2 ** o.step).f32(o.epsilon)
    .u32(moments ? 0 : 1).build();
  const [param, m, v] = [0, 1, 2].map(() => engine.allocate("adamw", p.shape));
  launchFlat("optimizer", "adamw", params, [p, g, moments?.m ?? g, moments?.v ?? g, param, m, v], p.size);
  return { param, m, v };
}
