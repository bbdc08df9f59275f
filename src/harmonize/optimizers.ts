/**
 * Optimizers over a model's named parameters, with PyTorch's update rules. State (momentum,
 * moments) lives outside tidy scopes; `step` updates each parameter in its own scope and assigns
 * new values. The kernel policy's `optimizer` variant picks one fused kernel per parameter
 * (src/ops/kernels/optimizer.ts) or the same rule composed of elementwise ops.
 */
import { engine, keep, tidy } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import type { Parameter } from "../nn/parameter.ts";
import { add, div, mul, sqrt, sub } from "../ops/elementwise.ts";
import { adamWUpdateKernel, sgdUpdateKernel } from "../ops/kernels/optimizer.ts";

export interface Optimizer {
  /** Applies one update with learning rate `lr` from gradients named like the parameters. */
  step(grads: Record<string, Tensor>, lr: number): void;
  /** Frees the optimizer's state tensors. */
  dispose(): void;
  /** What a checkpoint saves: the optimizer's own tensors (do not dispose them) and counters. */
  state(): OptimizerState;
  /** Replaces the state with `state` (taking ownership of its tensors), e.g. from a checkpoint. */
  loadState(state: OptimizerState): void;
}

/** Moments under PyTorch's per-parameter names ("momentum_buffer", "exp_avg", "exp_avg_sq") + "." + parameter name. */
export interface OptimizerState {
  tensors: Map<string, Tensor>;
  counters: Record<string, number>;
}

/** Splits "exp_avg.layer1.0.conv1.weight" into its slot and parameter name, refusing unknown ones. */
function stateKey(key: string, slots: readonly string[], parameters: ReadonlySet<string>): [string, string] {
  const dot = key.indexOf(".");
  const [slot, name] = [key.slice(0, dot), key.slice(dot + 1)];
  if (dot < 0 || !slots.includes(slot) || !parameters.has(name)) throw new Error(`optimizer state: unexpected tensor "${key}"`);
  return [slot, name];
}

/**
 * Parameters that share optimizer settings, as torch.optim's param_groups: e.g. the `decay` and
 * `noDecay` groups of weightDecayGroups (src/nn/parameter_groups.ts), the second with weightDecay 0.
 */
export interface ParameterGroup {
  parameters: [string, Parameter][];
  /** This group's weight decay instead of the optimizer's. */
  weightDecay?: number;
}

/** [name, parameter, the group's weight decay if it sets one] for plain [name, parameter] lists and groups alike. */
type Member = [string, Parameter, number | undefined];

function membersOf(parameters: [string, Parameter][] | ParameterGroup[]): Member[] {
  return (parameters as ([string, Parameter] | ParameterGroup)[]).flatMap((entry): Member[] =>
    Array.isArray(entry) ? [[entry[0], entry[1], undefined]] : entry.parameters.map(([name, p]) => [name, p, entry.weightDecay])
  );
}

const fused = () => engine.backend.kernels.variants.optimizer === "fused";

function gradientOf(grads: Record<string, Tensor>, name: string): Tensor {
  const g = grads[name];
  if (!g) throw new Error(`optimizer: no gradient for parameter "${name}"`);
  return g;
}

export interface SgdOptions {
  momentum?: number;
  nesterov?: boolean;
  /** Coupled L2 (added to the gradient), as torch.optim.SGD. The harmonizer loss has its own λ_w. */
  weightDecay?: number;
  dampening?: number;
}

/** torch.optim.SGD: buf = μ·buf + (1 − d)·g; step along g + μ·buf (Nesterov) or buf. */
export class Sgd implements Optimizer {
  private readonly buffers = new Map<string, Tensor>();
  private readonly parameters: Member[];

  constructor(parameters: [string, Parameter][] | ParameterGroup[], private readonly options: SgdOptions = {}) {
    this.parameters = membersOf(parameters);
    if (options.nesterov && !(options.momentum && options.momentum > 0) ) {
      throw new Error("Sgd: Nesterov momentum requires momentum > 0");
    }
  }

  step(grads: Record<string, Tensor>, lr: number): void {
    const { momentum = 0, nesterov = false, weightDecay = 0, dampening = 0 } = this.options;
    // One scope per parameter: its temporaries are freed before the next parameter's are made.
    for (const [name, p, groupDecay] of this.parameters) {
      tidy(() => {
        let g = gradientOf(grads, name);
        const decay = groupDecay ?? weightDecay;
        const previous = this.buffers.get(name);
        if (fused()) {
          const next = sgdUpdateKernel(p.value, g, previous, { lr, weightDecay: decay, momentum, dampening, nesterov });
          if (next.buffer) this.replaceBuffer(name, keep(next.buffer));
          p.assign(next.param);
          return;
        }
        if (decay) g = add(g, mul(p.value, decay));
        if (momentum) {
          const buffer = keep(previous ? add(mul(previous, momentum), mul(g, 1 - dampening)) : add(g, 0));
          this.replaceBuffer(name, buffer);
          g = nesterov ? add(g, mul(buffer, momentum)) : buffer;
        }
        p.assign(sub(p.value, mul(g, lr)));
      });
    }
  }

  private replaceBuffer(name: string, buffer: Tensor): void {
    this.buffers.get(name)?.dispose();
    this.buffers.set(name, buffer);
  }

  dispose(): void {
    for (const buffer of this.buffers.values()) buffer.dispose();
    this.buffers.clear();
  }

  state(): OptimizerState {
    return { tensors: new Map([...this.buffers].map(([name, t]) => [`momentum_buffer.${name}`, t])), counters: {} };
  }

  loadState(state: OptimizerState): void {
    const names = new Set(this.parameters.map(([name]) => name));
    this.dispose();
    for (const [key, t] of state.tensors) this.buffers.set(stateKey(key, ["momentum_buffer"], names)[1], keep(t));
  }
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled decay: θ ← θ·(1 − lr·wd) before the Adam step (torch.optim.AdamW, default 0.01). */
  weightDecay?: number;
}

/** torch.optim.AdamW. */
export class AdamW implements Optimizer {
  private readonly moments = new Map<string, { m: Tensor; v: Tensor }>();
  private steps = 0;
  private readonly parameters: Member[];

  constructor(parameters: [string, Parameter][] | ParameterGroup[], private readonly options: AdamWOptions = {}) {
    this.parameters = membersOf(parameters);
  }

  step(grads: Record<string, Tensor>, lr: number): void {
    const { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0.01 } = this.options;
    this.steps++;
    const correction1 = 1 - beta1 ** this.steps;
    const correction2 = 1 - beta2 ** this.steps;
    for (const [name, p, groupDecay] of this.parameters) {
      tidy(() => {
        const g = gradientOf(grads, name);
        const previous = this.moments.get(name);
        const decay = groupDecay ?? weightDecay;
        if (fused()) {
          const next = adamWUpdateKernel(p.value, g, previous, { lr, weightDecay: decay, beta1, beta2, epsilon, step: this.steps });
          previous?.m.dispose();
          previous?.v.dispose();
          this.moments.set(name, keep({ m: next.m, v: next.v }));
          p.assign(next.param);
          return;
        }
        const m = keep(previous ? add(mul(previous.m, beta1), mul(g, 1 - beta1)) : mul(g, 1 - beta1));
        const v = keep(previous ? add(mul(previous.v, beta2), mul(mul(g, g), 1 - beta2)) : mul(mul(g, g), 1 - beta2));
        previous?.m.dispose();
        previous?.v.dispose();
        this.moments.set(name, { m, v });
        const update = div(div(m, correction1), add(sqrt(div(v, correction2)), epsilon));
        p.assign(sub(mul(p.value, 1 - lr * decay), mul(update, lr)));
      });
    }
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }

  state(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    for (const [name, { m, v }] of this.moments) tensors.set(`exp_avg.${name}`, m).set(`exp_avg_sq.${name}`, v);
    return { tensors, counters: { step: this.steps } };
  }

  loadState(state: OptimizerState): void {
    const names = new Set(this.parameters.map(([name]) => name));
    this.dispose();
    const halves = new Map<string, { m?: Tensor; v?: Tensor }>();
    for (const [key, t] of state.tensors) {
      const [slot, name] = stateKey(key, ["exp_avg", "exp_avg_sq"], names);
      const entry = halves.get(name) ?? {};
      entry[slot === "exp_avg" ? "m" : "v"] = keep(t);
      halves.set(name, entry);
    }
    for (const [name, { m, v }] of halves) {
      if (!m || !v) throw new Error(`optimizer state: "${name}" needs both exp_avg and exp_avg_sq`);
      this.moments.set(name, { m, v });
    }
    this.steps = state.counters.step ?? 0;
  }
}
