/**
 * Pooling over the spatial axes of NCHW tensors. Max pooling finds each window's argmax with a
 * kernel, then gathers the values: its gradient is a scatter-add, whose gradient is a gather, so it
 * differentiates to any order. Average pooling is a convolution with a constant kernel.
 */
import { tidy } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import type { PoolAttrs } from "../primitive.ts";
import { apply } from "./apply.ts";
import { full, ones, tensor } from "./creation.ts";
import { div } from "./elementwise.ts";
import { gather } from "./indexing.ts";
import { matmul } from "./matmul.ts";
import { reshape } from "./movement.ts";
import { mean } from "./reduce.ts";
import { shapeString } from "./shape.ts";
import { conv2dResolved, type Padding, resolvePadding, type SpatialPair, spatialPair } from "./conv.ts";

export interface MaxPool2dOptions {
  kernelSize: SpatialPair;
  /** Defaults to kernelSize. */
  stride?: SpatialPair;
  /** Padded taps count as −∞; at most half the kernel per side (as PyTorch). */
  padding?: Padding;
  dilation?: SpatialPair;
}

export interface AvgPool2dOptions {
  kernelSize: SpatialPair;
  /** Defaults to kernelSize. */
  stride?: SpatialPair;
  /** Zero padding, at most half the kernel per side (as PyTorch). */
  padding?: Padding;
  /** Divide by the whole window (true, PyTorch's default) or only by its taps inside the input. */
  countIncludePad?: boolean;
}

function requireNCHW(op: string, x: Tensor): void {
  if (x.rank !== 4) throw new Error(`${op}: input must be NCHW (rank 4), got ${shapeString(x.shape)}`);
}

function poolAttrs(
  op: string,
  x: Tensor,
  options: { kernelSize: SpatialPair; stride?: SpatialPair; padding?: Padding; dilation?: SpatialPair },
): PoolAttrs {
  const kernelSize = spatialPair(op, "kernelSize", options.kernelSize);
  const stride = spatialPair(op, "stride", options.stride ?? kernelSize);
  const dilation = spatialPair(op, "dilation", options.dilation ?? 1);
  const padding = resolvePadding(op, options.padding ?? 0, [x.shape[2], x.shape[3]], kernelSize, stride, dilation);
  if (padding.some((pair, d) => pair.some((p) => p > kernelSize[d] / 2))) {
    throw new Error(`${op}: padding ${JSON.stringify(padding)} exceeds half the kernel [${kernelSize}] (x ${shapeString(x.shape)})`);
  }
  return { kernelSize, stride, dilation, padding };
}

/** Max over each window → [N, C, OH, OW]. */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor {
  requireNCHW("maxPool2d", x);
  const attrs = poolAttrs("maxPool2d", x, options);
  return tidy(() => {
    const [n, c, h, w] = x.shape;
    const indices = apply("maxPool2dArgmax", [x], attrs);
    const [, , oh, ow] = indices.shape;
    const values = gather(reshape(x, [n, c, h * w]), reshape(indices, [n, c, oh * ow]), 2);
    return reshape(values, indices.shape);
  });
}

/** Mean over each window → [N, C, OH, OW]. */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  requireNCHW("avgPool2d", x);
  const { kernelSize, stride, padding } = poolAttrs("avgPool2d", x, options);
  const [kh, kw] = kernelSize;
  const attrs = { stride, padding, dilation: [1, 1] as [number, number], groups: 1 };
  const padded = padding.flat().some((p) => p > 0);
  return tidy(() => {
    const [n, c, h, w] = x.shape;
    const planes = reshape(x, [n * c, 1, h, w]);
    let y: Tensor;
    if (options.countIncludePad === false && padded) {
      const sums = conv2dResolved(planes, ones([1, 1, kh, kw]), attrs);
      const taps = conv2dResolved(ones([1, 1, h, w]), ones([1, 1, kh, kw]), attrs);
      y = div(sums, taps);
    } else {
      y = conv2dResolved(planes, full([1, 1, kh, kw], 1 / (kh * kw)), attrs);
    }
    return reshape(y, [n, c, y.shape[2], y.shape[3]]);
  });
}

/** Mean over H and W → [N, C, 1, 1]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  requireNCHW("globalAvgPool2d", x);
  return mean(x, [2, 3], true);
}

/**
 * PyTorch's adaptive average pooling to `outputSize` [OH, OW]: output cell i averages rows
 * ⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1 (likewise columns). Done as two products with constant averaging matrices.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: SpatialPair): Tensor {
  requireNCHW("adaptiveAvgPool2d", x);
  const [oh, ow] = spatialPair("adaptiveAvgPool2d", "outputSize", outputSize);
  if (oh === 1 && ow === 1) return globalAvgPool2d(x);
  const [n, c, h, w] = x.shape;
  return tidy(() => {
    const rows = averagingMatrix(oh, h);
    const colsT = tensor(transposeOf(averagingMatrixValues(ow, w), ow, w), [w, ow]);
    const pooled = matmul(matmul(rows, reshape(x, [n * c, h, w])), colsT);
    return reshape(pooled, [n, c, oh, ow]);
  });
}

function averagingMatrixValues(out: number, size: number): Float32Array {
  const values = new Float32Array(out * size);
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    for (let j = start; j < end; j++) values[i * size + j] = 1 / (end - start);
  }
  return values;
}

function averagingMatrix(out: number, size: number): Tensor {
  return tensor(averagingMatrixValues(out, size), [out, size]);
}

function transposeOf(values: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(values.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = values[i * cols + j];
  return t;
}
