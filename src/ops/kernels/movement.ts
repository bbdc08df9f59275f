/** Launchers for permute, expand, slice, pad and concat: all one strided-copy kernel family. */
import { engine } from "../../engine.ts";
import { type Shape, shapeSize, stridesOf, type Tensor } from "../../tensor.ts";
import { broadcastShapes, broadcastStrides, shapeString } from "../shape.ts";
import { launchFlat } from "./launch.ts";
import { collapseDims } from "./collapse.ts";
import { stridedLaunch } from "./strided.ts";

function stridedCopy(op: string, x: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  const out = engine.allocate(op, shape, x.dtype);
  const dims = collapseDims(shape, [strides]);
  const { params, constants } = stridedLaunch(out.size, dims.shape, dims.strides, offset);
  // One value broadcast (a gradient rule's scalar cotangent spread over a weight): no coordinates.
  const one = dims.strides[0].every((stride) => stride === 0);
  launchFlat("movement", one ? "broadcast_one" : "strided_copy", params, [x, out], out.size, one ? undefined : constants);
  return out;
}

export function permuteKernel(x: Tensor, perm: readonly number[]): Tensor {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm}] is not a permutation of the axes of ${shapeString(x.shape)}`);
  }
  const strides = stridesOf(x.shape);
  return stridedCopy("permute", x, perm.map((p) => x.shape[p]), perm.map((p) => strides[p]), 0);
}

export function expandKernel(x: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes("expand", x.shape, shape);
  if (target.length !== shape.length || target.some((d, i) => d !== shape[i])) {
    throw new Error(`expand: ${shapeString(x.shape)} cannot be broadcast to ${shapeString(shape)}`);
  }
  return stridedCopy("expand", x, shape, broadcastStrides(x.shape, shape), 0);
}

export function sliceKernel(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const bad = begin.length !== x.rank || size.length !== x.rank ||
    begin.some((b, d) => !Number.isInteger(b) || b < 0 || size[d] < 0 || b + size[d] > x.shape[d]);
  if (bad) {
    throw new Error(`slice: begin [${begin}] size [${size}] is outside ${shapeString(x.shape)}`);
  }
  const strides = stridesOf(x.shape);
  if (isPrefix(begin, size, strides)) return engine.view(x, size);
  const offset = begin.reduce((acc, b, d) => acc + b * strides[d], 0);
  if (isContiguous(size, strides)) {
    // One run of x's elements: a buffer copy (on CPU adapters far cheaper than a dispatch).
    const out = engine.allocate("slice", [...size], x.dtype);
    engine.backend.copyBuffer(x.buffer, offset * 4, out.buffer, 0, out.size * 4);
    return out;
  }
  return stridedCopy("slice", x, size, strides, offset);
}

/** Whether a slice of `size` reads one run of consecutive elements of x (strides: x's row-major strides). */
function isContiguous(size: readonly number[], strides: readonly number[]): boolean {
  const last = size.reduce((acc, s, d) => acc + (s - 1) * strides[d], 0);
  return last === shapeSize(size) - 1;
}

/**
 * Whether a slice selects exactly the first prod(size) elements of x in row-major order: it starts
 * at 0 and its last element lies at flat index prod(size) − 1. Such a slice is a view of x's
 * storage (as reshape is), since a tensor reads its elements from the start of its buffer.
 */
function isPrefix(begin: readonly number[], size: readonly number[], strides: readonly number[]): boolean {
  return begin.every((b) => b === 0) && isContiguous(size, strides);
}

export function padKernel(x: Tensor, pads: readonly (readonly [number, number])[], value: number): Tensor {
  if (pads.length !== x.rank || pads.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0)) {
    throw new Error(`pad: pads ${JSON.stringify(pads)} do not fit ${shapeString(x.shape)} (need [before, after] ≥ 0 per axis)`);
  }
  const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const out = engine.allocate("pad", shape, x.dtype);
  const valueBits = x.dtype === "int32" ? new Uint32Array(Int32Array.of(value).buffer)[0] : new Uint32Array(Float32Array.of(value).buffer)[0];
  const axes = collapsePadAxes(x.shape, pads);
  if (axes.shape.length === 1 && valueBits === 0) {
    // Zeros, x, zeros in one run (a slice's gradient along its outermost axis): a copy and clears.
    const [before] = axes.before;
    engine.backend.clearBuffer(out.buffer, 0, before * 4);
    engine.backend.copyBuffer(x.buffer, 0, out.buffer, before * 4, x.size * 4);
    engine.backend.clearBuffer(out.buffer, (before + x.size) * 4, (out.size - before - x.size) * 4);
    return out;
  }
  const { params, constants } = stridedLaunch(out.size, axes.shape, [axes.strides, axes.before, axes.inner], valueBits);
  launchFlat("movement", "pad", params, [x, out], out.size, constants);
  return out;
}

/**
 * Fewer axes for pad: an unpadded axis merges into the axis outside it (their coordinates read x
 * contiguously, and the outer axis' bounds scale by the inner extent), and unpadded size-1 axes go.
 * A gradient of a slice along one axis becomes a rank-1 pad.
 */
function collapsePadAxes(inner: Shape, pads: readonly (readonly [number, number])[]) {
  const axes = { shape: [] as number[], strides: [] as number[], before: [] as number[], inner: [] as number[] };
  const strides = stridesOf(inner);
  inner.forEach((extent, d) => {
    const [before, after] = pads[d];
    const last = axes.shape.length - 1;
    if (before === 0 && after === 0 && (extent === 1 || last >= 0)) {
      if (last < 0) return; // an unpadded size-1 axis outside every other
      axes.shape[last] *= extent;
      axes.before[last] *= extent;
      axes.inner[last] *= extent;
      axes.strides[last] = strides[d];
      return;
    }
    axes.shape.push(extent + before + after);
    axes.strides.push(strides[d]);
    axes.before.push(before);
    axes.inner.push(extent);
  });
  return axes;
}

export function concatKernel(xs: readonly Tensor[], axis: number): Tensor {
  const first = xs[0];
  for (const x of xs) {
    const ok = x.rank === first.rank && x.dtype === first.dtype &&
      x.shape.every((d, i) => i === axis || d === first.shape[i]);
    if (!ok) throw new Error(`concat: shapes ${xs.map((t) => shapeString(t.shape)).join(", ")} differ off axis ${axis}`);
  }
  const shape = [...first.shape];
  shape[axis] = xs.reduce((acc, x) => acc + x.shape[axis], 0);
  const out = engine.allocate("concat", shape, first.dtype);
  const outStrides = stridesOf(shape);
  let start = 0;
  for (const x of xs) {
    const { params, constants } = stridedLaunch(x.size, x.shape, [outStrides], start * outStrides[axis]);
    launchFlat("movement", "strided_write", params, [x, out], x.size, constants);
    start += x.shape[axis];
  }
  return out;
}
