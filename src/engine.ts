/**
 * Global state of the running program: the backend, the stack of tidy scopes and the stack of
 * gradient tapes. Ops create tensors through `allocate`, which registers them in the innermost scope.
 */
import { Backend, type BackendOptions } from "./backend/backend.ts";
import type { MemoryStats } from "./backend/buffer_pool.ts";
import { type DType, type Shape, shapeSize, Tensor } from "./tensor.ts";
import { Storage } from "./storage.ts";
import type { Node } from "./primitive.ts";

/** Watches every primitive the engine runs (a gradient tape). */
export interface Recorder {
  maybeRecord(node: Node): void;
}

class Engine {
  private current: Backend | null = null;
  readonly scopes: Set<Tensor>[] = [];
  readonly recorders: Recorder[] = [];

  get backend(): Backend {
    if (!this.current) throw new Error("Harmonize is not initialised: `await init()` first");
    return this.current;
  }

  get ready(): boolean {
    return this.current !== null;
  }

  setBackend(backend: Backend | null): void {
    this.current = backend;
  }

  /** Makes an uninitialised output tensor; `op` names the operation in error messages. */
  allocate(op: string, shape: Shape, dtype: DType = "float32"): Tensor {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid output shape [${shape}]`);
    }
    const bytes = shapeSize(shape) * 4;
    const limit = this.backend.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      throw new Error(
        `${op}: output [${shape}] needs ${bytes} bytes, over this device's maxStorageBufferBindingSize (${limit})`,
      );
    }
    return this.track(new Tensor(shape, dtype, new Storage(this.backend, bytes)));
  }

  /** A new tensor sharing `source`'s storage (reshape, stopGradient). */
  view(source: Tensor, shape: Shape): Tensor {
    return this.track(new Tensor(shape, source.dtype, source.storage.share()));
  }

  private track(t: Tensor): Tensor {
    this.scopes[this.scopes.length - 1]?.add(t);
    return t;
  }

  memory(): MemoryStats {
    return this.backend.memory();
  }
}

export const engine: Engine = new Engine();

/** Opens the WebGPU device and loads the kernels. Call once before any op. */
export async function init(options: BackendOptions = {}): Promise<Backend> {
  if (engine.ready) return engine.backend;
  const backend = await Backend.create(options);
  engine.setBackend(backend);
  return backend;
}

/** Closes the device; a later init() opens a new one. */
export function shutdown(): void {
  if (!engine.ready) return;
  engine.backend.destroy();
  engine.setBackend(null);
}

export type TensorTree = Tensor | readonly TensorTree[] | { readonly [key: string]: TensorTree };

export function treeLeaves(tree: unknown, out: Tensor[] = []): Tensor[] {
  if (tree instanceof Tensor) out.push(tree);
  else if (Array.isArray(tree)) for (const item of tree) treeLeaves(item, out);
  else if (tree && typeof tree === "object" && Object.getPrototypeOf(tree) === Object.prototype) {
    for (const value of Object.values(tree)) treeLeaves(value, out);
  }
  return out;
}

/**
 * Runs `fn` and disposes every tensor it created except those in its result (a tensor, or arrays
 * and plain objects of them). Kept tensors move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  engine.scopes.push(new Set());
  let result: T;
  try {
    result = fn();
  } catch (e) {
    disposeScope(engine.scopes.pop()!, new Set());
    throw e;
  }
  if (result instanceof Promise) throw new Error("tidy: the function must be synchronous (it returned a Promise)");
  const kept = new Set(treeLeaves(result));
  disposeScope(engine.scopes.pop()!, kept);
  const parent = engine.scopes[engine.scopes.length - 1];
  if (parent) for (const t of kept) parent.add(t);
  return result;
}

function disposeScope(scope: Set<Tensor>, kept: Set<Tensor>): void {
  for (const t of scope) if (!kept.has(t)) t.dispose();
}

/** Exempts tensors from the enclosing tidy scopes (e.g. parameters made inside a scope). */
export function keep<T extends TensorTree>(tree: T): T {
  for (const t of treeLeaves(tree)) for (const scope of engine.scopes) scope.delete(t);
  return tree;
}

/** Disposes every tensor in a tree. */
export function dispose(tree: unknown): void {
  for (const t of treeLeaves(tree)) t.dispose();
}

export function memory(): MemoryStats {
  return engine.memory();
}
