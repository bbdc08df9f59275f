/** Making tensors: from host data, constants, ranges and seeded random numbers. */
import { engine } from "../engine.ts";
import { type DType, type Shape, shapeSize, type Tensor } from "../tensor.ts";
import { fillKernel, iotaKernel } from "./kernels/fill.ts";
import { randomKernel } from "./kernels/random.ts";
import { shapeString } from "./shape.ts";

export type HostData = Float32Array | Int32Array | Uint8Array | readonly number[];

/** A tensor from host values; `shape` defaults to 1-D. Int32Array data gives an int32 tensor. */
export function tensor(data: HostData, shape?: Shape, dtype?: DType): Tensor {
  const type: DType = dtype ?? (data instanceof Int32Array ? "int32" : "float32");
  const dims = shape ?? [data.length];
  if (shapeSize(dims) !== data.length) {
    throw new Error(`tensor: ${data.length} values do not fill shape ${shapeString(dims)}`);
  }
  const values = type === "int32"
    ? (data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>))
    : (data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>));
  const out = engine.allocate("tensor", dims, type);
  if (values.length > 0) engine.backend.upload(out.buffer, values);
  return out;
}

export function scalar(value: number, dtype: DType = "float32"): Tensor {
  return fillKernel("scalar", [], value, dtype);
}

export function full(shape: Shape, value: number, dtype: DType = "float32"): Tensor {
  return fillKernel("full", shape, value, dtype);
}

export function zeros(shape: Shape, dtype: DType = "float32"): Tensor {
  return fillKernel("zeros", shape, 0, dtype);
}

export function ones(shape: Shape, dtype: DType = "float32"): Tensor {
  return fillKernel("ones", shape, 1, dtype);
}

export function zerosLike(x: Tensor): Tensor {
  return zeros(x.shape, x.dtype);
}

export function onesLike(x: Tensor): Tensor {
  return ones(x.shape, x.dtype);
}

/** 0, 1, ..., n − 1. */
export function arange(n: number, dtype: DType = "float32"): Tensor {
  return iotaKernel(n, dtype);
}

export interface RandomOptions {
  /** Any non-negative safe integer; the same seed and shape give the same values everywhere. */
  seed: number;
}

export function randomUniform(shape: Shape, { seed, low = 0, high = 1 }: RandomOptions & { low?: number; high?: number }): Tensor {
  return randomKernel("uniform", shape, seed, low, high);
}

export function randomNormal(shape: Shape, { seed, mean = 0, std = 1 }: RandomOptions & { mean?: number; std?: number }): Tensor {
  return randomKernel("normal", shape, seed, mean, std);
}
