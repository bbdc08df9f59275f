/**
 * The base of every layer and model: named parameters, buffers and child modules, registered in
 * the order PyTorch registers them, so `namedParameters()` and `stateDict()` produce PyTorch's
 * dotted names (`layer1.0.conv1.weight`) in PyTorch's order.
 *
 * Gradients: autodiff watches tensors by identity, and `forward` reads each parameter's current
 * tensor, so differentiate with respect to `parameterTree()`:
 *
 *   const [loss, grads] = valueAndGrad((_: ParameterTree) => lossOf(model.forward(x)))(model.parameterTree());
 *   for (const [name, p] of model.namedParameters()) p.assign(sub(p.value, mul(grads[name], lr)));
 *
 * The function ignores its argument: the model already holds those very tensors (annotate it so
 * `grads` is typed by name). Do not assign parameters between taking the tree and running forward.
 */
import { stopGradient } from "../ops/movement.ts";
import { tensor } from "../ops/creation.ts";
import { cast } from "../ops/indexing.ts";
import { sameShape, Tensor } from "../tensor.ts";
import type { HostTensor } from "../io/safetensors.ts";
import { Parameter } from "./parameter.ts";
import { Buffer } from "./buffer.ts";
import type { TensorHolder } from "./tensor_holder.ts";

/** A state dict: PyTorch names to tensors on the GPU or on the host (e.g. read from safetensors). */
export type StateDict = Map<string, Tensor | HostTensor> | Record<string, Tensor | HostTensor>;

/** Parameter tensors by dotted PyTorch name, as `parameterTree()` gives them. */
export type ParameterTree = Record<string, Tensor>;

export interface LoadOptions {
  /** Missing or unexpected keys are errors (default true); shape mismatches always are. */
  strict?: boolean;
}

export interface LoadReport {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export abstract class Module {
  /** Training mode: BatchNorm uses batch statistics and updates running ones; Dropout drops. */
  training = true;
  private readonly parameterSlots = new Map<string, Parameter>();
  private readonly bufferSlots = new Map<string, Buffer>();
  private readonly children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  protected registerParameter(name: string, value: Tensor): Parameter {
    this.checkName(name);
    const slot = new Parameter(value);
    this.parameterSlots.set(name, slot);
    return slot;
  }

  /** Non-trainable state saved in the state dict (running statistics, counters). */
  protected registerBuffer(name: string, value: Tensor): Buffer {
    this.checkName(name);
    const slot = new Buffer(value);
    this.bufferSlots.set(name, slot);
    return slot;
  }

  /** Names of this module's own parameters that are not weight-decayed (see parameter_groups.ts). */
  noWeightDecay(): string[] {
    return [];
  }

  /** This module's own parameters, without its children's. */
  ownParameters(): [string, Parameter][] {
    return [...this.parameterSlots.entries()];
  }

  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    this.children.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (!name || name.includes(".")) throw new Error(`${this.constructor.name}: invalid member name "${name}"`);
    if (this.parameterSlots.has(name) || this.bufferSlots.has(name) || this.children.has(name)) {
      throw new Error(`${this.constructor.name}: "${name}" is already registered`);
    }
  }

  /** Sets training mode here and in every descendant. */
  train(mode = true): this {
    this.training = mode;
    for (const child of this.children.values()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  namedChildren(): [string, Module][] {
    return [...this.children.entries()];
  }

  /** [dotted name, holder] of every parameter, own ones first, then each child's (PyTorch's order). */
  namedParameters(): [string, Parameter][] {
    return this.collect((m) => m.parameterSlots);
  }

  namedBuffers(): [string, Buffer][] {
    return this.collect((m) => m.bufferSlots);
  }

  private collect<H extends TensorHolder>(slotsOf: (m: Module) => Map<string, H>, prefix = "", out: [string, H][] = []): [string, H][] {
    for (const [name, slot] of slotsOf(this)) out.push([prefix + name, slot]);
    for (const [name, child] of this.children) child.collect(slotsOf, `${prefix}${name}.`, out);
    return out;
  }

  /** Every parameter and buffer holder by PyTorch state-dict name, in state-dict order. */
  namedState(prefix = "", out: [string, TensorHolder][] = []): [string, TensorHolder][] {
    for (const [name, slot] of this.parameterSlots) out.push([prefix + name, slot]);
    for (const [name, slot] of this.bufferSlots) out.push([prefix + name, slot]);
    for (const [name, child] of this.children) child.namedState(`${prefix}${name}.`, out);
    return out;
  }

  /** Current parameter tensors by name: the argument to differentiate a loss of `forward` against. */
  parameterTree(): ParameterTree {
    return Object.fromEntries(this.namedParameters().map(([name, p]) => [name, p.value]));
  }

  /** Current parameter and buffer tensors by PyTorch name (the tensors themselves, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedState().map(([name, p]) => [name, p.value]));
  }

  /**
   * Reads every state-dict tensor back to the host, ready for `encodeSafetensors`. Integer
   * buffers are marked for storage as I64, the dtype PyTorch gives them (num_batches_tracked).
   */
  async hostStateDict(): Promise<Map<string, HostTensor>> {
    const out = new Map<string, HostTensor>();
    for (const [name, p] of this.namedState()) {
      const data = await p.value.data();
      out.set(name, { shape: [...p.value.shape], data, stored: data instanceof Int32Array ? "I64" : "F32" });
    }
    return out;
  }

  /**
   * Loads values by PyTorch name. Shapes must match exactly (the error names the key); with
   * `strict`, missing and unexpected keys are errors too. GPU tensors are shared, not copied
   * (tensors are immutable), host tensors are uploaded.
   */
  loadStateDict(dict: StateDict, { strict = true }: LoadOptions = {}): LoadReport {
    const entries = new Map(dict instanceof Map ? dict : Object.entries(dict));
    const slots = this.namedState();
    const known = new Set(slots.map(([name]) => name));
    const missingKeys = slots.filter(([name]) => !entries.has(name)).map(([name]) => name);
    const unexpectedKeys = [...entries.keys()].filter((name) => !known.has(name));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts = [];
      if (missingKeys.length > 0) parts.push(`missing keys: ${missingKeys.join(", ")}`);
      if (unexpectedKeys.length > 0) parts.push(`unexpected keys: ${unexpectedKeys.join(", ")}`);
      throw new Error(`${this.constructor.name}.loadStateDict: ${parts.join("; ")}`);
    }
    const updates: [TensorHolder, Tensor | HostTensor][] = [];
    for (const [name, slot] of slots) {
      const value = entries.get(name);
      if (value === undefined) continue;
      if (!sameShape(value.shape, slot.shape)) {
        throw new Error(
          `${this.constructor.name}.loadStateDict: "${name}" has shape [${value.shape}] in the state dict, ` +
            `but the model expects [${slot.shape}]`,
        );
      }
      updates.push([slot, value]);
    }
    // Shapes are all checked before anything changes, so a failed load leaves the model intact.
    for (const [slot, value] of updates) {
      const dtype = slot.value.dtype;
      if (!(value instanceof Tensor)) slot.assign(tensor(value.data, value.shape, dtype));
      else slot.assign(value.dtype === dtype ? stopGradient(value) : cast(value, dtype));
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const [, slot] of this.namedState()) slot.dispose();
  }
}
