/**
 * A dense, contiguous, row-major tensor on the GPU. Views made by reshape and by slices of leading
 * elements share storage.
 * Lifetime: the user's handle (dispose, tidy) and every autodiff node that saved the tensor
 * each hold it; its buffer returns to the pool when the last holder lets go.
 */
import type { Storage } from "./storage.ts";

export type DType = "float32" | "int32";
export type Shape = readonly number[];

let nextId = 0;

/** >0 while gradient rules run: they may read tensors the user disposed but a node still holds. */
let gradientRulesRunning = 0;

/** Runs the gradient rules of a backward pass, which may use tensors only a tape node still holds. */
export function whileRunningGradientRules<T>(fn: () => T): T {
  gradientRulesRunning++;
  try {
    return fn();
  } finally {
    gradientRulesRunning--;
  }
}

export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  /** @internal user handle + saved-by-node holds */
  holds = 1;
  /** @internal */
  userDisposed = false;

  /** @internal use the ops in src/ops to make tensors */
  constructor(readonly shape: Shape, readonly dtype: DType, readonly storage: Storage) {
    this.size = shapeSize(shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.userDisposed;
  }

  /** @internal */
  get buffer(): GPUBuffer {
    return this.storage.buffer;
  }

  /** Releases the user's handle; the memory is reused once no gradient computation needs it. */
  dispose(): void {
    if (this.userDisposed) return;
    this.userDisposed = true;
    this.release();
  }

  /** @internal a tape node saves this tensor */
  retain(): void {
    this.holds++;
  }

  /** @internal the user or a tape node lets go */
  release(): void {
    if (--this.holds === 0) this.storage.release();
  }

  /** @internal throws unless `op` may still read this tensor */
  assertAlive(op: string): void {
    const dead = gradientRulesRunning > 0 ? this.holds <= 0 : this.userDisposed;
    if (dead) throw new Error(`${op}: tensor ${this} was disposed`);
  }

  /** Reads the values back to the host. */
  async data(): Promise<Float32Array | Int32Array> {
    this.assertAlive("data");
    const bytes = await this.storage.read(this.size * 4);
    return this.dtype === "int32" ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  /** Reads a float32 tensor back as a Float32Array. */
  async floats(): Promise<Float32Array> {
    if (this.dtype !== "float32") throw new Error(`floats(): tensor is ${this.dtype}, shape [${this.shape}]`);
    return await this.data() as Float32Array;
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor has shape [${this.shape}], not one element`);
    return (await this.data())[0];
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(", ")}])`;
  }
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
