/**
 * A dense, contiguous, row-major tensor on the GPU. Views made by reshape share storage.
 * Lifetime: the user's handle (dispose, tidy) and every autodiff node that saved the tensor
 * each hold it; its buffer returns to the pool when the last holder lets go.
 */
import { engine } from "./engine.ts";

export type DType = "float32" | "int32";
export type Shape = readonly number[];

export class Storage {
  refs = 1;
  constructor(readonly buffer: GPUBuffer, readonly byteSize: number) {}
}

let nextId = 0;

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
    engine.release(this);
  }

  /** Reads the values back to the host. */
  async data(): Promise<Float32Array | Int32Array> {
    engine.assertAlive(this, "data");
    const bytes = await engine.backend.read(this.buffer, this.size * 4);
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
