/** Launchers for conv2d, its input gradient and its weight gradient (shaders/conv2d.wgsl). */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { shapeSize, type Tensor } from "../../tensor.ts";
import type { ConvAttrs } from "../../primitive.ts";
import { shapeString } from "../shape.ts";
import { reduceKernel } from "./reduce.ts";
import { fillKernel } from "./fill.ts";

/** A thread accumulates ROWS × COLS_PER_THREAD outputs; rows are shared by the whole workgroup. */
const ROWS = 8;
const COLS_PER_THREAD = 4;
const MAX_WORKGROUP = 64;
/** The weight gradient splits its long depth (batch·OH·OW) until about this many workgroups run. */
const TARGET_WORKGROUPS = 64;
/** ...but never into chunks shorter than this. */
const MIN_SPLIT_DEPTH = 512;

/** Output extent of one spatial axis; PyTorch's formula. */
export function convOutputSize(size: number, kernel: number, stride: number, dilation: number, pads: [number, number]): number {
  return Math.floor((size + pads[0] + pads[1] - dilation * (kernel - 1) - 1) / stride) + 1;
}

interface Geometry {
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

function fail(op: string, why: string, shapes: Record<string, readonly number[]>): never {
  const listed = Object.entries(shapes).map(([name, s]) => `${name} ${shapeString(s)}`).join(", ");
  throw new Error(`${op}: ${why} (${listed})`);
}

/** Checks x [N,C,H,W], w [O,C/g,KH,KW] and the attrs; gy's shape, if given, must match the output. */
function geometry(
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

function checkOutputGrad(op: string, gy: Tensor, geo: Geometry, shapes: Record<string, readonly number[]>): void {
  const expected = [geo.batch, geo.outChannels, geo.outHeight, geo.outWidth];
  if (gy.rank !== 4 || gy.shape.some((d, i) => d !== expected[i])) {
    fail(op, `output gradient must have the convolution's output shape ${shapeString(expected)}`, shapes);
  }
}

function params(geo: Geometry, attrs: ConvAttrs, kChunk = 0, kSplits = 1): Uint32Array {
  return new Params()
    .u32(geo.batch).u32(geo.channels).u32(geo.height).u32(geo.width)
    .u32(geo.outChannels).u32(geo.outHeight).u32(geo.outWidth).u32(attrs.groups)
    .u32(geo.kernelH).u32(geo.kernelW).u32(attrs.stride[0]).u32(attrs.stride[1])
    .u32(attrs.dilation[0]).u32(attrs.dilation[1]).u32(attrs.padding[0][0]).u32(attrs.padding[1][0])
    .u32(kChunk).u32(kSplits).build();
}

const nextPowerOfTwo = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));

/**
 * Split-K sizing of a weight gradient, whose depth sums `depth` items: cut into chunks of at least
 * `minChunk` items until about TARGET_WORKGROUPS workgroups run over its `tiles` output tiles.
 */
function splitDepth(depth: number, tiles: number, minChunk: number): { chunk: number; splits: number } {
  const wanted = Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.ceil(depth / minChunk));
  const chunk = Math.ceil(depth / Math.max(1, wanted));
  return { chunk, splits: Math.ceil(depth / chunk) };
}

/** The weight gradient from its [splits, ...] partial sums. */
function sumSplits(partial: Tensor, splits: number): Tensor {
  if (splits === 1) return partial;
  const dw = reduceKernel("sum", partial, [0], false);
  partial.dispose();
  return dw;
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

function requireFloat(op: string, ...tensors: Tensor[]): void {
  for (const t of tensors) if (t.dtype !== "float32") throw new Error(`${op}: expects float32 tensors, got ${t}`);
}

export function conv2dKernel(x: Tensor, w: Tensor, attrs: ConvAttrs): Tensor {
  const shapes = { x: x.shape, w: w.shape };
  requireFloat("conv2d", x, w);
  const geo = geometry("conv2d", x.shape, w.shape, attrs, shapes);
  const out = engine.allocate("conv2d", [geo.batch, geo.outChannels, geo.outHeight, geo.outWidth]);
  if (out.size === 0) return out;
  if (useTextures(geo, attrs)) {
    forwardTextures(x, w, geo, attrs, out);
    return out;
  }
  const rows = geo.outChannels / attrs.groups;
  const cols = geo.batch * geo.outHeight * geo.outWidth;
  launch("forward", rows, cols, attrs.groups, params(geo, attrs), [x, w, out]);
  return out;
}

export function conv2dInputGradKernel(gy: Tensor, w: Tensor, attrs: ConvAttrs, inputSize: [number, number]): Tensor {
  const shapes = { gy: gy.shape, w: w.shape, inputSize };
  requireFloat("conv2dInputGrad", gy, w);
  if (gy.rank !== 4) fail("conv2dInputGrad", "output gradient must be NCHW (rank 4)", shapes);
  const xShape = [gy.shape[0], w.shape[1] * attrs.groups, ...inputSize];
  const geo = geometry("conv2dInputGrad", xShape, w.shape, attrs, shapes);
  checkOutputGrad("conv2dInputGrad", gy, geo, shapes);
  if (shapeSize(xShape) > 0 && useTextures(geo, attrs)) return inputGradTextures(gy, w, geo, attrs, xShape);
  const dx = engine.allocate("conv2dInputGrad", xShape);
  if (dx.size === 0) return dx;

  const rows = geo.channels / attrs.groups;
  const cols = geo.batch * geo.height * geo.width;
  launch("input_grad", rows, cols, attrs.groups, params(geo, attrs), [gy, w, dx]);
  return dx;
}

export function conv2dWeightGradKernel(x: Tensor, gy: Tensor, attrs: ConvAttrs, kernelSize: [number, number]): Tensor {
  const shapes = { x: x.shape, gy: gy.shape, kernelSize };
  requireFloat("conv2dWeightGrad", x, gy);
  if (x.rank !== 4 || gy.rank !== 4) fail("conv2dWeightGrad", "input and output gradient must be NCHW (rank 4)", shapes);
  const wShape = [gy.shape[1], x.shape[1] / attrs.groups, ...kernelSize];
  if (!Number.isInteger(wShape[1])) fail("conv2dWeightGrad", `input channels are not divisible by groups ${attrs.groups}`, shapes);
  const geo = geometry("conv2dWeightGrad", x.shape, wShape, attrs, shapes);
  checkOutputGrad("conv2dWeightGrad", gy, geo, shapes);
  const rows = geo.outChannels / attrs.groups;
  const cols = wShape[1] * geo.kernelH * geo.kernelW;
  const depth = geo.batch * geo.outHeight * geo.outWidth;
  if (rows * cols === 0 || depth === 0) return fillKernel("conv2dWeightGrad", wShape, 0);
  if (useTextures(geo, attrs)) return weightGradTextures(x, gy, geo, attrs, wShape);
  const tiles = Math.ceil(rows / ROWS) * Math.ceil(cols / (COLS_PER_THREAD * workgroupSize(cols))) * attrs.groups;
  const { chunk, splits } = splitDepth(depth, tiles, MIN_SPLIT_DEPTH);
  const partial = engine.allocate("conv2dWeightGrad", splits === 1 ? wShape : [splits, ...wShape]);
  launch("weight_grad", rows, cols, attrs.groups * splits, params(geo, attrs, chunk, splits), [x, gy, partial]);
  return sumSplits(partial, splits);
}

// ---- The texture path (shaders/conv2d_texture.wgsl), for CPU adapters. ----

/** conv_texture: each thread computes 4 or 8 rows × 8 pixels. */
const TEXTURE_THREAD_PIXELS = 8;
/** weight_grad_texture: a workgroup covers 64 output channels × 32 column groups (tap, 4 channels). */
const TEXTURE_WEIGHT_GRAD_ROWS = 64;
const TEXTURE_WEIGHT_GRAD_GROUPS = 32;

const quads = (n: number) => Math.ceil(n / 4);

/** Texel extent of the padded input [C4·(W+pl+pr), N·(H+pt+pb)]. */
function paddedInputSize(geo: Geometry, attrs: ConvAttrs): { texH: number; texW: number } {
  return { texH: geo.height + attrs.padding[0][0] + attrs.padding[0][1], texW: geo.width + attrs.padding[1][0] + attrs.padding[1][1] };
}

/**
 * The texture kernels run where the kernel policy picks them, for one group, within texture limits;
 * other cases fall back to the buffer kernels (KERNEL_FALLBACKS.conv).
 */
function useTextures(geo: Geometry, attrs: ConvAttrs): boolean {
  if (engine.backend.kernels.variants.conv !== "textures" || attrs.groups !== 1) return false;
  const side = engine.backend.limits.maxTextureDimension2D;
  const { texH, texW } = paddedInputSize(geo, attrs);
  const gradH = geo.height + (geo.kernelH - 1) * attrs.dilation[0];
  const gradW = geo.width + (geo.kernelW - 1) * attrs.dilation[1];
  const taps = geo.kernelH * geo.kernelW;
  return [
    quads(geo.channels) * texW, geo.batch * texH, // the padded input
    quads(geo.outChannels) * Math.max(gradW, geo.outWidth), geo.batch * Math.max(gradH, geo.outHeight), // packed gy
    taps * quads(Math.max(geo.channels, geo.outChannels)), Math.max(geo.channels, geo.outChannels), // weights
  ].every((extent) => extent <= side);
}

/** Packs NCHW `src` channels-last into a scratch texture; source element (i, j) lands at texel row off_h + i·step_h. */
function packInput(
  role: string,
  src: Tensor,
  [batch, channels, srcH, srcW]: readonly number[],
  texH: number,
  texW: number,
  offset: [number, number],
  step: [number, number],
): GPUTextureView {
  const size: [number, number, number] = [quads(channels) * texW, batch * texH, 1];
  const { view } = engine.backend.scratchTexture(role, size, "rgba32float");
  engine.backend.dispatch({
    shader: "conv2d_texture",
    entry: "pack_input",
    params: new Params().u32(batch).u32(channels).u32(srcH).u32(srcW).u32(texH).u32(texW)
      .u32(offset[0] >>> 0).u32(offset[1] >>> 0).u32(step[0]).u32(step[1]).build(),
    buffers: [src.buffer, view],
    workgroups: [Math.ceil(size[0] / 8), Math.ceil(size[1] / 8)],
  });
  return view;
}

/** Which kernel taps a packed weight texture holds, per axis: first + step·t for t < taps. */
interface TapSelection {
  taps: [number, number];
  first: [number, number];
  step: [number, number];
}

/**
 * Packs OIHW weights as [rows][taps·inner/4] texels; `flip` gives the input gradient's transposed
 * kernel with the selected taps in reverse order.
 */
function packWeights(w: Tensor, flip: boolean, selection?: TapSelection): GPUTextureView {
  const [o, c, kh, kw] = w.shape;
  const [rows, inner] = flip ? [c, o] : [o, c];
  const { taps, first, step } = selection ?? { taps: [kh, kw], first: [0, 0], step: [1, 1] };
  const size: [number, number, number] = [taps[0] * taps[1] * quads(inner), rows, 1];
  const { view } = engine.backend.scratchTexture(flip ? "conv.weights.flipped" : "conv.weights", size, "rgba32float");
  engine.backend.dispatch({
    shader: "conv2d_texture",
    entry: "pack_weights",
    constants: { FLIP: flip ? 1 : 0 },
    params: new Params().u32(rows).u32(inner).u32(kh).u32(kw).u32(taps[0]).u32(taps[1])
      .u32(first[0]).u32(first[1]).u32(step[0]).u32(step[1]).build(),
    buffers: [w.buffer, view],
    workgroups: [Math.ceil(size[0] / 8), Math.ceil(size[1] / 8)],
  });
  return view;
}

interface TextureConv {
  batch: number;
  rows: number;
  inner: number;
  outH: number;
  outW: number;
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
  texH: number;
  texW: number;
  kChunk: number;
  channels: number;
  /** Where grid pixel (i, j) is written: (off + step·i) of a [height, width] plane; default the grid itself. */
  dest?: { height: number; width: number; offset: [number, number]; step: [number, number] };
}

function textureParams(t: TextureConv): Uint32Array {
  const dest = t.dest ?? { height: t.outH, width: t.outW, offset: [0, 0], step: [1, 1] };
  return new Params().u32(t.batch).u32(t.rows).u32(quads(t.inner)).u32(t.outH).u32(t.outW)
    .u32(t.kernel[0]).u32(t.kernel[1]).u32(t.stride[0]).u32(t.stride[1]).u32(t.dilation[0]).u32(t.dilation[1])
    .u32(t.texH).u32(t.texW).u32(t.kChunk).u32(t.channels)
    .u32(dest.height).u32(dest.width).u32(dest.offset[0]).u32(dest.offset[1]).u32(dest.step[0]).u32(dest.step[1])
    .build();
}

function convTexture(t: TextureConv, weights: GPUTextureView, input: GPUTextureView, out: Tensor): void {
  // 64 threads of (4 or 8) rows × 8 pixels each, split so that few rows waste little.
  const ROW_QUADS = t.rows <= 4 ? 1 : 2;
  const threadRows = 4 * ROW_QUADS;
  const WG_Y = Math.min(8, nextPowerOfTwo(Math.ceil(t.rows / threadRows)));
  const WG_X = 64 / WG_Y;
  engine.backend.dispatch({
    shader: "conv2d_texture",
    entry: "conv_texture",
    constants: { WG_X, WG_Y, ROW_QUADS },
    params: textureParams(t),
    buffers: [weights, input, out.buffer],
    workgroups: [
      Math.ceil((t.batch * t.outH * t.outW) / (TEXTURE_THREAD_PIXELS * WG_X)),
      Math.ceil(t.rows / (threadRows * WG_Y)),
    ],
  });
}

/**
 * One axis of one stride phase of the input gradient: input positions ph + s·i (i < count) are
 * reached from gy row i + e(kh), e(kh) = (ph + pad − kh·d) / s, by exactly the taps kh where that
 * division is exact — every `step`-th tap from `first`. In reverse tap order t they read gy row
 * i + eMin + t·(step·d/s): a stride-1 convolution with dilation step·d/s. Null if no tap reaches.
 */
interface PhaseAxis {
  count: number;
  first: number;
  step: number;
  taps: number;
  dilation: number;
  eMin: number;
}

function phaseAxis(size: number, kernel: number, stride: number, dilation: number, padBefore: number, phase: number): PhaseAxis | null {
  const count = Math.ceil((size - phase) / stride);
  const valid = [...Array(kernel).keys()].filter((k) => (((phase + padBefore - k * dilation) % stride) + stride) % stride === 0);
  if (count <= 0 || valid.length === 0) return null;
  const step = valid.length > 1 ? valid[1] - valid[0] : 1;
  const last = valid[valid.length - 1];
  return {
    count,
    first: valid[0],
    step,
    taps: valid.length,
    dilation: valid.length > 1 ? (step * dilation) / stride : 1, // one tap: any spacing will do
    eMin: (phase + padBefore - last * dilation) / stride,
  };
}

function forwardTextures(x: Tensor, w: Tensor, geo: Geometry, attrs: ConvAttrs, out: Tensor): void {
  const { texH, texW } = paddedInputSize(geo, attrs);
  const input = packInput("conv.input", x, x.shape, texH, texW, [attrs.padding[0][0], attrs.padding[1][0]], [1, 1]);
  const weights = packWeights(w, false);
  convTexture({
    batch: geo.batch, rows: geo.outChannels, inner: geo.channels, outH: geo.outHeight, outW: geo.outWidth,
    kernel: [geo.kernelH, geo.kernelW], stride: attrs.stride, dilation: attrs.dilation, texH, texW, kChunk: 0,
    channels: geo.channels,
  }, weights, input, out);
}

/** dx phase by phase (see PhaseAxis): each stride phase is a stride-1 convolution of gy. */
function inputGradTextures(gy: Tensor, w: Tensor, geo: Geometry, attrs: ConvAttrs, xShape: number[]): Tensor {
  const [sh, sw] = attrs.stride;
  const phases: [PhaseAxis | null, PhaseAxis | null, number, number][] = [];
  for (let ph = 0; ph < sh; ph++) {
    for (let pw = 0; pw < sw; pw++) {
      phases.push([
        phaseAxis(geo.height, geo.kernelH, sh, attrs.dilation[0], attrs.padding[0][0], ph),
        phaseAxis(geo.width, geo.kernelW, sw, attrs.dilation[1], attrs.padding[1][0], pw),
        ph,
        pw,
      ]);
    }
  }
  // Positions no tap reaches (e.g. a 1×1 kernel at stride 2) get no gradient: start from zeros.
  const everyPixelReached = phases.every(([a, b]) => a && b);
  const dx = everyPixelReached ? engine.allocate("conv2dInputGrad", xShape) : fillKernel("conv2dInputGrad", xShape, 0);
  for (const [a, b, ph, pw] of phases) {
    if (!a || !b) continue;
    const texH = a.count + (a.taps - 1) * a.dilation;
    const texW = b.count + (b.taps - 1) * b.dilation;
    const input = packInput("conv.gradient", gy, gy.shape, texH, texW, [-a.eMin, -b.eMin], [1, 1]);
    const weights = packWeights(w, true, { taps: [a.taps, b.taps], first: [a.first, b.first], step: [a.step, b.step] });
    convTexture({
      batch: geo.batch, rows: geo.channels, inner: geo.outChannels, outH: a.count, outW: b.count,
      kernel: [a.taps, b.taps], stride: [1, 1], dilation: [a.dilation, b.dilation], texH, texW, kChunk: 0,
      channels: geo.outChannels,
      dest: { height: geo.height, width: geo.width, offset: [ph, pw], step: [sh, sw] },
    }, weights, input, dx);
  }
  return dx;
}

function weightGradTextures(x: Tensor, gy: Tensor, geo: Geometry, attrs: ConvAttrs, wShape: number[]): Tensor {
  const { texH, texW } = paddedInputSize(geo, attrs);
  const input = packInput("conv.input", x, x.shape, texH, texW, [attrs.padding[0][0], attrs.padding[1][0]], [1, 1]);
  const gradient = packInput("conv.gradient", gy, gy.shape, geo.outHeight, geo.outWidth, [0, 0], [1, 1]);
  const columnGroups = geo.kernelH * geo.kernelW * quads(geo.channels);
  const tiles = Math.ceil(columnGroups / TEXTURE_WEIGHT_GRAD_GROUPS) * Math.ceil(geo.outChannels / TEXTURE_WEIGHT_GRAD_ROWS);
  // Split the depth by whole output rows (n, oh), each at least MIN_SPLIT_DEPTH long in total.
  const { chunk, splits } = splitDepth(geo.batch * geo.outHeight, tiles, Math.ceil(MIN_SPLIT_DEPTH / geo.outWidth));
  const partial = engine.allocate("conv2dWeightGrad", splits === 1 ? wShape : [splits, ...wShape]);
  engine.backend.dispatch({
    shader: "conv2d_texture",
    entry: "weight_grad_texture",
    params: textureParams({
      batch: geo.batch, rows: geo.outChannels, inner: geo.channels, outH: geo.outHeight, outW: geo.outWidth,
      kernel: [geo.kernelH, geo.kernelW], stride: attrs.stride, dilation: attrs.dilation, texH, texW, kChunk: chunk,
      channels: geo.channels,
    }),
    buffers: [gradient, input, partial.buffer],
    workgroups: [Math.ceil(columnGroups / TEXTURE_WEIGHT_GRAD_GROUPS), Math.ceil(geo.outChannels / TEXTURE_WEIGHT_GRAD_ROWS), splits],
  });
  return sumSplits(partial, splits);
}
