/**
 * conv2d's texture kernels (shaders/conv2d_texture.wgsl), for CPU adapters: operands packed
 * channels-last into rgba32float textures, the input gradient computed stride phase by stride phase.
 * Weights and padded inputs are packed once per tensor and kept beside its storage (docs/kernels.md).
 */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import type { Tensor } from "../../tensor.ts";
import type { ConvAttrs } from "../../primitive.ts";
import { type Geometry, MIN_SPLIT_DEPTH, splitDepth, sumSplits } from "./conv_geometry.ts";
import { fillKernel } from "./fill.ts";
import { keptPacking } from "./launch.ts";

/** conv_texture: each thread computes 4, 8 or 16 rows × 16 pixels. */
const TEXTURE_THREAD_PIXELS = 16;
/** weight_grad_texture: a workgroup covers 64 output channels × 32 column groups (tap, 4 channels). */
const TEXTURE_WEIGHT_GRAD_ROWS = 64;
const TEXTURE_WEIGHT_GRAD_GROUPS = 32;

const quads = (n: number) => Math.ceil(n / 4);

/** Texel extent of the padded input [C4·(W+pl+pr), N·(H+pt+pb)]. */
function paddedInputSize(geo: Geometry, attrs: ConvAttrs): { texH: number; texW: number } {
  return { texH: geo.height + attrs.padding[0][0] + attrs.padding[0][1], texW: geo.width + attrs.padding[1][0] + attrs.padding[1][1] };
}

/** Whether the texture kernels take this case: one group, operands within the texture limits. */
export function texturesFit(geo: Geometry, attrs: ConvAttrs): boolean {
  if (attrs.groups !== 1) return false;
  const side = engine.backend.limits.maxTextureDimension2D;
  const { texH, texW } = paddedInputSize(geo, attrs);
  const gradient = gradientPlacement(geo, attrs);
  const taps = geo.kernelH * geo.kernelW;
  return [
    quads(geo.channels) * texW, geo.batch * texH, // the padded input
    quads(geo.outChannels) * gradient.texW, geo.batch * gradient.texH, // packed gy
    taps * quads(Math.max(geo.channels, geo.outChannels)), Math.max(geo.channels, geo.outChannels), // weights
  ].every((extent) => extent <= side);
}

/** Records the packing of NCHW `src` channels-last into `dst`; source element (i, j) lands at texel (offset + (i, j)) of its block. */
function recordPackInput(src: Tensor, texH: number, texW: number, offset: [number, number], dst: GPUTextureView): void {
  const [batch, channels, srcH, srcW] = src.shape;
  engine.backend.dispatch({
    shader: "conv2d_texture",
    entry: "pack_input",
    params: new Params().u32(batch).u32(channels).u32(srcH).u32(srcW).u32(texH).u32(texW)
      .u32(offset[0] >>> 0).u32(offset[1] >>> 0).build(),
    buffers: [src.buffer, dst],
    workgroups: [Math.ceil(texW / 8), batch * Math.ceil(texH / 8), quads(channels)],
  });
}

/** Texel extent [C4·texW, N·texH] of a packed NCHW tensor. */
const packedSize = ([batch, channels]: readonly number[], texH: number, texW: number): [number, number, number] => [quads(channels) * texW, batch * texH, 1];

/**
 * x packed with the convolution's padding. The forward pass and the weight gradient read x so (in
 * a harmonized step the double backward's conv2d and weight gradient also read their cotangent
 * so), so it is packed once and kept beside x's storage until x is freed.
 */
function packedPaddedInput(x: Tensor, geo: Geometry, attrs: ConvAttrs): { view: GPUTextureView; texH: number; texW: number } {
  const { texH, texW } = paddedInputSize(geo, attrs);
  const offset: [number, number] = [attrs.padding[0][0], attrs.padding[1][0]];
  const size = packedSize(x.shape, texH, texW);
  const key = `conv.input ${x.shape.join("x")} at ${offset} in ${texH}x${texW}: ${size.join("x")} rgba32float`;
  const view = keptPacking(x, key, size, (packed) => recordPackInput(x, texH, texW, offset, packed));
  return { view, texH, texW };
}

/** Where a packed gy's pixels lie: (offset + (oh, ow)) of each [texH, texW] block. */
interface GradientPlacement {
  texH: number;
  texW: number;
  offset: [number, number];
}

/**
 * gy packed with its convolution's placement (see gradientPlacement), kept beside gy's storage:
 * every stride phase of that convolution's input gradient and its weight gradient read it.
 */
function packedGradient(gy: Tensor, { texH, texW, offset }: GradientPlacement): GPUTextureView {
  const size = packedSize(gy.shape, texH, texW);
  const key = `conv.gradient ${gy.shape.join("x")} at ${offset} in ${texH}x${texW}: ${size.join("x")} rgba32float`;
  return keptPacking(gy, key, size, (packed) => recordPackInput(gy, texH, texW, offset, packed));
}

/** Which kernel taps a packed weight texture holds, per axis: first + step·t for t < taps. */
interface TapSelection {
  taps: [number, number];
  first: [number, number];
  step: [number, number];
}

/**
 * OIHW weights packed as [rows][taps·inner/4] texels; `flip` gives the input gradient's transposed
 * kernel with the selected taps in reverse order. Weights are reused unchanged (the forward pass
 * and the double backward convolve with the same w, evaluation with every batch), so each layout
 * is packed once and kept beside w's storage until w is freed.
 */
function packedWeights(w: Tensor, flip: boolean, selection?: TapSelection): GPUTextureView {
  const [o, c, kh, kw] = w.shape;
  const [rows, inner] = flip ? [c, o] : [o, c];
  const { taps, first, step } = selection ?? { taps: [kh, kw], first: [0, 0], step: [1, 1] };
  const size: [number, number, number] = [taps[0] * taps[1] * quads(inner), rows, 1];
  const key = `conv.weights ${w.shape.join("x")} ${flip ? "flipped" : "as is"} taps ${taps} from ${first} by ${step}: ${size.join("x")} rgba32float`;
  return keptPacking(w, key, size, (packed) =>
    engine.backend.dispatch({
      shader: "conv2d_texture",
      entry: "pack_weights",
      constants: { FLIP: flip ? 1 : 0 },
      params: new Params().u32(rows).u32(inner).u32(kh).u32(kw).u32(taps[0]).u32(taps[1])
        .u32(first[0]).u32(first[1]).u32(step[0]).u32(step[1]).build(),
      buffers: [w.buffer, packed],
      workgroups: [Math.ceil(size[0] / 8), Math.ceil(size[1] / 8)],
    }));
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
  /** conv_texture: the texel of each [texH, texW] block where the grid's receptive fields start. Default (0, 0). */
  origin?: [number, number];
  /**
   * conv_texture: where grid pixel (i, j) is written, (off + step·i) of a [height, width] plane;
   * weight_grad_texture: where gy's pixel (i, j) lies in its packing, (off + i) of a [height, width]
   * block. Default the grid itself.
   */
  dest?: { height: number; width: number; offset: [number, number]; step: [number, number] };
}

function textureParams(t: TextureConv): Uint32Array {
  const dest = t.dest ?? { height: t.outH, width: t.outW, offset: [0, 0], step: [1, 1] };
  return new Params().u32(t.batch).u32(t.rows).u32(quads(t.inner)).u32(t.outH).u32(t.outW).u32(0).u32(0).u32(0)
    .u32(t.kernel[0]).u32(t.kernel[1]).u32(t.stride[0]).u32(t.stride[1]).u32(t.dilation[0]).u32(t.dilation[1])
    .u32(t.origin?.[0] ?? 0).u32(t.origin?.[1] ?? 0)
    .u32(t.texH).u32(t.texW).u32(t.kChunk).u32(t.channels)
    .u32(dest.height).u32(dest.width).u32(dest.offset[0]).u32(dest.offset[1]).u32(dest.step[0]).u32(dest.step[1])
    .build();
}

function convTexture(t: TextureConv, weights: GPUTextureView, input: GPUTextureView, out: Tensor): void {
  // 64 threads of (4, 8 or 16) rows × 16 pixels each, so that few rows (the RGB input gradient)
  // waste little. Each variant costs lavapipe's LLVM seconds to compile (the 16-row one about 8 s
  // of CPU), so every product of more than 8 rows shares one workgroup shape, 64 rows × 256
  // pixels, unless fewer than 256 pixels would leave lavapipe's 8-lane SIMD vectors along x
  // partly idle: then 8 threads along rows, 128 rows × 16 pixels (ROWS_FAST, about 5× faster on
  // ResNet-18's 2×2 layers).
  const ROW_QUADS = t.rows <= 4 ? 1 : t.rows <= 8 ? 2 : 4;
  const threadRows = 4 * ROW_QUADS;
  const pixels = t.batch * t.outH * t.outW;
  const ROWS_FAST = ROW_QUADS === 4 && pixels < 16 * TEXTURE_THREAD_PIXELS;
  const WG_X = ROWS_FAST ? 8 : ROW_QUADS === 4 ? 16 : 64;
  const WG_Y = ROWS_FAST || ROW_QUADS < 4 ? 1 : 4;
  const [pixelThreads, rowThreads] = ROWS_FAST ? [WG_Y, WG_X] : [WG_X, WG_Y];
  engine.backend.dispatch({
    shader: "conv2d_texture",
    entry: "conv_texture",
    constants: { WG_X, WG_Y, ROW_QUADS, ROWS_FAST: ROWS_FAST ? 1 : 0 },
    params: textureParams(t),
    buffers: [weights, input, out.buffer],
    workgroups: [Math.ceil(pixels / (TEXTURE_THREAD_PIXELS * pixelThreads)), Math.ceil(t.rows / (threadRows * rowThreads))],
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

export function forwardTextures(x: Tensor, w: Tensor, geo: Geometry, attrs: ConvAttrs, out: Tensor): void {
  const { view: input, texH, texW } = packedPaddedInput(x, geo, attrs);
  const weights = packedWeights(w, false);
  convTexture({
    batch: geo.batch, rows: geo.outChannels, inner: geo.channels, outH: geo.outHeight, outW: geo.outWidth,
    kernel: [geo.kernelH, geo.kernelW], stride: attrs.stride, dilation: attrs.dilation, texH, texW, kChunk: 0,
    channels: geo.channels,
  }, weights, input, out);
}

/** The stride phases of dx: per axis its PhaseAxis (null where no tap reaches) and its phase. */
function stridePhases(geo: Geometry, attrs: ConvAttrs): [PhaseAxis | null, PhaseAxis | null, number, number][] {
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
  return phases;
}

/**
 * Where gy lies in its packing, shared by every stride phase of the input gradient and by the
 * weight gradient: gy's pixel (i, j) at (offset + (i, j)) of each [texH, texW] block, the offset
 * and extent wide enough for every phase's reach (phase rows eMin .. eMin + count + (taps − 1)·d − 1
 * of gy, see PhaseAxis) and for all of gy.
 */
function gradientPlacement(geo: Geometry, attrs: ConvAttrs): GradientPlacement {
  const phases = stridePhases(geo, attrs).filter(([a, b]) => a && b) as [PhaseAxis, PhaseAxis, number, number][];
  const axis = (d: 0 | 1, size: number): [number, number] => {
    const axes = phases.map((phase) => phase[d]);
    const offset = Math.max(0, ...axes.map((a) => -a.eMin));
    const extent = Math.max(offset + size, ...axes.map((a) => offset + a.eMin + a.count + (a.taps - 1) * a.dilation));
    return [offset, extent];
  };
  const [offH, texH] = axis(0, geo.outHeight);
  const [offW, texW] = axis(1, geo.outWidth);
  return { texH, texW, offset: [offH, offW] };
}

/** dx phase by phase (see PhaseAxis): each stride phase is a stride-1 convolution of gy. */
export function inputGradTextures(gy: Tensor, w: Tensor, geo: Geometry, attrs: ConvAttrs, xShape: number[]): Tensor {
  const [sh, sw] = attrs.stride;
  const phases = stridePhases(geo, attrs);
  const placement = gradientPlacement(geo, attrs);
  const { texH, texW, offset } = placement;
  const input = packedGradient(gy, placement);
  // Positions no tap reaches (e.g. a 1×1 kernel at stride 2) get no gradient: start from zeros.
  const everyPixelReached = phases.every(([a, b]) => a && b);
  const dx = everyPixelReached ? engine.allocate("conv2dInputGrad", xShape) : fillKernel("conv2dInputGrad", xShape, 0);
  for (const [a, b, ph, pw] of phases) {
    if (!a || !b) continue;
    const weights = packedWeights(w, true, { taps: [a.taps, b.taps], first: [a.first, b.first], step: [a.step, b.step] });
    convTexture({
      batch: geo.batch, rows: geo.channels, inner: geo.outChannels, outH: a.count, outW: b.count,
      kernel: [a.taps, b.taps], stride: [1, 1], dilation: [a.dilation, b.dilation], texH, texW, kChunk: 0,
      channels: geo.outChannels, origin: [offset[0] + a.eMin, offset[1] + b.eMin],
      dest: { height: geo.height, width: geo.width, offset: [ph, pw], step: [sh, sw] },
    }, weights, input, dx);
  }
  return dx;
}

export function weightGradTextures(x: Tensor, gy: Tensor, geo: Geometry, attrs: ConvAttrs, wShape: number[]): Tensor {
  const { view: input, texH, texW } = packedPaddedInput(x, geo, attrs);
  const placement = gradientPlacement(geo, attrs);
  const gradient = packedGradient(gy, placement);
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
      dest: { height: placement.texH, width: placement.texW, offset: placement.offset, step: [1, 1] },
    }),
    buffers: [gradient, input, partial.buffer],
    workgroups: [Math.ceil(columnGroups / TEXTURE_WEIGHT_GRAD_GROUPS), Math.ceil(geo.outChannels / TEXTURE_WEIGHT_GRAD_ROWS), splits],
  });
  return sumSplits(partial, splits);
}

