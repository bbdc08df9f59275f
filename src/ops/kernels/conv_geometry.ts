/** conv2d geometry shared by its buffer and texture kernels: shapes, checks and split-K sizing. */
import type { Tensor } from "../../tensor.ts";
import type { ConvAttrs } from "../../primitive.ts";
import { shapeString } from "../shape.ts";
import { reduceKernel } from "./reduce.ts";

/** The weight gradient splits its long depth (batch·OH·OW) until about this many workgroups run. */
const TARGET_WORKGROUPS = 64;
/** ...but never into chunks shorter than this. */
export const MIN_SPLIT_DEPTH = 512;

/** Output extent of one spatial axis; PyTorch's formula. */
export function convOutputSize(size: number, kernel: number, stride: number, dilation: number, pads: [number, number]): number {
  return Math.floor((size + pads[0] + pads[1] - dilation * (kernel - 1) - 1) / stride) + 1;
}

export interface Geometry {
  batch: number;
  channels: number;
  height: number;
  width: number;
  outChannels: number;
  outHeight: number;
  outWidth: number;
  kernelH: number;
  kernelW: number;
}

export function fail(op: string, why: string, shapes: Record<string, readonly number[]>): never {
  const listed = Object.entries(shapes).map(([name, s]) => `${name} ${shapeString(s)}`).join(", ");
  throw new Error(`${op}: ${why} (${listed})`);
}

/** Checks x [N,C,H,W], w [O,C/g,KH,KW] and the attrs; gy's shape, if given, must match the output. */
export function geometry(
  op: string,
  xShape: readonly number[],
  wShape: readonly number[],
  attrs: ConvAttrs,
  shapes: Record<string, readonly number[]>,
): Geometry {
  const { stride, dilation, padding, groups } = attrs;
  if (xShape.length !== 4) fail(op, "input must be NCHW (rank 4)", shapes);
  if (wShape.length !== 4) fail(op, "weight must be OIHW (rank 4)", shapes);
  const [batch, channels, height, width] = xShape;
  const [outChannels, channelsPerGroup, kernelH, kernelW] = wShape;
  const positive = [...stride, ...dilation, groups].every((v) => Number.isInteger(v) && v >= 1);
  const padsOk = padding.flat().every((v) => Number.isInteger(v) && v >= 0);
  if (!positive || !padsOk) {
    fail(op, `stride [${stride}], dilation [${dilation}] and groups ${groups} must be positive integers, padding ${JSON.stringify(padding)} non-negative`, shapes);
  }
  if (channels % groups !== 0) fail(op, `input channels ${channels} are not divisible by groups ${groups}`, shapes);
  if (outChannels % groups !== 0) fail(op, `output channels ${outChannels} are not divisible by groups ${groups}`, shapes);
  if (channelsPerGroup * groups !== channels) {
    fail(op, `weight expects ${channelsPerGroup} channels per group × ${groups} groups, input has ${channels} channels`, shapes);
  }
  const outHeight = convOutputSize(height, kernelH, stride[0], dilation[0], padding[0]);
  const outWidth = convOutputSize(width, kernelW, stride[1], dilation[1], padding[1]);
  if (outHeight < 1 || outWidth < 1 || kernelH < 1 || kernelW < 1) {
    fail(op, `the (dilated) kernel does not fit the padded input: output would be ${outHeight}×${outWidth}`, shapes);
  }
  return { batch, channels, height, width, outChannels, outHeight, outWidth, kernelH, kernelW };
}

export function checkOutputGrad(op: string, gy: Tensor, geo: Geometry, shapes: Record<string, readonly number[]>): void {
  const expected = [geo.batch, geo.outChannels, geo.outHeight, geo.outWidth];
  if (gy.rank !== 4 || gy.shape.some((d, i) => d !== expected[i])) {
    fail(op, `output gradient must have the convolution's output shape ${shapeString(expected)}`, shapes);
  }
}

export const nextPowerOfTwo = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));

/**
 * Split-K sizing of a weight gradient, whose depth sums `depth` items: cut into chunks of at least
 * `minChunk` items until about TARGET_WORKGROUPS workgroups run over its `tiles` output tiles.
 */
export function splitDepth(depth: number, tiles: number, minChunk: number): { chunk: number; splits: number } {
  const wanted = Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.ceil(depth / minChunk));
  const chunk = Math.ceil(depth / Math.max(1, wanted));
  return { chunk, splits: Math.ceil(depth / chunk) };
}

/** The weight gradient from its [splits, ...] partial sums. */
export function sumSplits(partial: Tensor, splits: number): Tensor {
  if (splits === 1) return partial;
  const dw = reduceKernel("sum", partial, [0], false);
  partial.dispose();
  return dw;
}

export function requireFloat(op: string, ...tensors: Tensor[]): void {
  for (const t of tensors) if (t.dtype !== "float32") throw new Error(`${op}: expects float32 tensors, got ${t}`);
}
