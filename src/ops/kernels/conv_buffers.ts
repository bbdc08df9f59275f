/** conv2d's buffer kernels (shaders/conv2d.wgsl): implicit GEMMs that read the NCHW/OIHW storage buffers directly. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import type { Tensor } from "../../tensor.ts";
import type { ConvAttrs } from "../../primitive.ts";
import { type Geometry, MIN_SPLIT_DEPTH, nextPowerOfTwo, splitDepth, sumSplits } from "./conv_geometry.ts";

/** A thread accumulates ROWS × COLS_PER_THREAD outputs; rows are shared by the whole workgroup. */
const ROWS = 8;
const COLS_PER_THREAD = 4;
const MAX_WORKGROUP = 64;

function params(geo: Geometry, attrs: ConvAttrs, kChunk = 0, kSplits = 1): Uint32Array {
  return new Params()
    .u32(geo.batch).u32(geo.channels).u32(geo.height).u32(geo.width)
    .u32(geo.outChannels).u32(geo.outHeight).u32(geo.outWidth).u32(attrs.groups)
    .u32(geo.kernelH).u32(geo.kernelW).u32(attrs.stride[0]).u32(attrs.stride[1])
    .u32(attrs.dilation[0]).u32(attrs.dilation[1]).u32(attrs.padding[0][0]).u32(attrs.padding[1][0])
    .u32(kChunk).u32(kSplits).build();
}

/** Threads per workgroup: up to 64, fewer when the GEMM has few cols (e.g. small weight gradients). */
function workgroupSize(cols: number): number {
  return Math.max(8, Math.min(MAX_WORKGROUP, nextPowerOfTwo(Math.ceil(cols / COLS_PER_THREAD))));
}

function launch(
  entry: "forward" | "input_grad" | "weight_grad",
  rows: number,
  cols: number,
  depthSlices: number,
  paramWords: Uint32Array,
  tensors: Tensor[],
): void {
  const WG = workgroupSize(cols);
  const x = Math.ceil(cols / (COLS_PER_THREAD * WG));
  const y = Math.ceil(rows / ROWS);
  const limit = engine.backend.limits.maxComputeWorkgroupsPerDimension;
  if (x > limit || y > limit || depthSlices > limit) {
    throw new Error(`conv2d ${entry}: ${x}×${y}×${depthSlices} workgroups exceed this device's ${limit} per dimension`);
  }
  engine.backend.dispatch({
    shader: "conv2d",
    entry,
    constants: { WG },
    params: paramWords,
    buffers: tensors.map((t) => t.buffer),
    workgroups: [x, y, depthSlices],
  });
}

export function forwardBuffers(x: Tensor, w: Tensor, geo: Geometry, attrs: ConvAttrs, out: Tensor): void {
  const rows = geo.outChannels / attrs.groups;
  const cols = geo.batch * geo.outHeight * geo.outWidth;
  launch("forward", rows, cols, attrs.groups, params(geo, attrs), [x, w, out]);
}

export function inputGradBuffers(gy: Tensor, w: Tensor, geo: Geometry, attrs: ConvAttrs, xShape: number[]): Tensor {
  const dx = engine.allocate("conv2dInputGrad", xShape);
  if (dx.size === 0) return dx;
  const rows = geo.channels / attrs.groups;
  const cols = geo.batch * geo.height * geo.width;
  launch("input_grad", rows, cols, attrs.groups, params(geo, attrs), [gy, w, dx]);
  return dx;
}

export function weightGradBuffers(x: Tensor, gy: Tensor, geo: Geometry, attrs: ConvAttrs, wShape: number[]): Tensor {
  const rows = geo.outChannels / attrs.groups;
  const cols = wShape[1] * geo.kernelH * geo.kernelW;
  const depth = geo.batch * geo.outHeight * geo.outWidth;
  const tiles = Math.ceil(rows / ROWS) * Math.ceil(cols / (COLS_PER_THREAD * workgroupSize(cols))) * attrs.groups;
  const { chunk, splits } = splitDepth(depth, tiles, MIN_SPLIT_DEPTH);
  const partial = engine.allocate("conv2dWeightGrad", splits === 1 ? wShape : [splits, ...wShape]);
  launch("weight_grad", rows, cols, attrs.groups * splits, params(geo, attrs, chunk, splits), [x, gy, partial]);
  return sumSplits(partial, splits);
}
