/**
 * 2-D convolution on NCHW inputs with OIHW weights (PyTorch's layouts), and its two linear partners:
 * the input gradient (transposed convolution) and the weight gradient. The three primitives'
 * gradient rules are written with one another, so convolutions differentiate to any order.
 */
import type { Tensor } from "../tensor.ts";
import type { ConvAttrs } from "../primitive.ts";
import { apply } from "./apply.ts";
import { add } from "./elementwise.ts";
import { reshape } from "./movement.ts";
import { shapeString } from "./shape.ts";
import { tfSamePadding } from "./same_padding.ts";

/** One value for both spatial axes, or [height, width]. */
export type SpatialPair = number | readonly [number, number];

/**
 * A number or [h, w] pads both sides of each axis alike; [[top, bottom], [left, right]] pads each
 * side on its own; "VALID" is no padding; "SAME" is TensorFlow's rule: output ⌈size/stride⌉,
 * total padding max((out − 1)·stride + (k − 1)·dilation + 1 − size, 0), the smaller half before.
 */
export type Padding =
  | number
  | readonly [number, number]
  | readonly [readonly [number, number], readonly [number, number]]
  | "SAME"
  | "VALID";

export interface Conv2dOptions {
  stride?: SpatialPair;
  padding?: Padding;
  dilation?: SpatialPair;
  /** Input and output channels split into this many independent groups (= channels: depthwise). */
  groups?: number;
  /** [O], added to every output channel. */
  bias?: Tensor;
}

export function spatialPair(op: string, name: string, value: SpatialPair): [number, number] {
  const pair: [number, number] = typeof value === "number" ? [value, value] : [value[0], value[1]];
  if (!pair.every((v) => Number.isInteger(v) && v >= 1) || (typeof value !== "number" && value.length !== 2)) {
    throw new Error(`${op}: ${name} must be a positive integer or [h, w] of them, got ${JSON.stringify(value)}`);
  }
  return pair;
}

/** Resolves any Padding form to [[top, bottom], [left, right]] for an input of `size` [H, W]. */
export function resolvePadding(
  op: string,
  padding: Padding,
  size: readonly [number, number],
  kernel: readonly [number, number],
  stride: readonly [number, number],
  dilation: readonly [number, number],
): [[number, number], [number, number]] {
  if (padding === "VALID") return [[0, 0], [0, 0]];
  if (padding === "SAME") {
    const axis = (d: 0 | 1): [number, number] => {
      const { before, after } = tfSamePadding(size[d], (kernel[d] - 1) * dilation[d] + 1, stride[d]);
      return [before, after];
    };
    return [axis(0), axis(1)];
  }
  let pairs: [[number, number], [number, number]] | null = null;
  if (typeof padding === "number") pairs = [[padding, padding], [padding, padding]];
  else if (padding.length === 2 && typeof padding[0] === "number" && typeof padding[1] === "number") {
    pairs = [[padding[0], padding[0]], [padding[1], padding[1]]];
  } else if (padding.length === 2 && Array.isArray(padding[0]) && Array.isArray(padding[1])) {
    const [[t, b], [l, r]] = padding as readonly [readonly [number, number], readonly [number, number]];
    pairs = [[t, b], [l, r]];
  }
  if (!pairs || !pairs.flat().every((v) => Number.isInteger(v) && v >= 0)) {
    throw new Error(
      `${op}: padding must be "SAME", "VALID", a non-negative integer, [h, w] or [[top, bottom], [left, right]], got ${JSON.stringify(padding)}`,
    );
  }
  return pairs;
}

/** The geometry fields of conv attrs (dropping a primitive's inputSize/kernelSize). */
function geometryOf({ stride, dilation, padding, groups }: ConvAttrs): ConvAttrs {
  return { stride, dilation, padding, groups };
}

/** y = x ⋆ w: x [N, C, H, W], w [O, C/groups, KH, KW] → [N, O, OH, OW], optionally plus bias [O]. */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  if (x.rank !== 4 || w.rank !== 4) {
    throw new Error(`conv2d: expects x NCHW and w OIHW (rank 4), got x ${shapeString(x.shape)}, w ${shapeString(w.shape)}`);
  }
  const stride = spatialPair("conv2d", "stride", options.stride ?? 1);
  const dilation = spatialPair("conv2d", "dilation", options.dilation ?? 1);
  const groups = options.groups ?? 1;
  const kernel: [number, number] = [w.shape[2], w.shape[3]];
  const padding = resolvePadding("conv2d", options.padding ?? 0, [x.shape[2], x.shape[3]], kernel, stride, dilation);
  const y = conv2dResolved(x, w, { stride, dilation, padding, groups });
  const { bias } = options;
  if (!bias) return y;
  if (bias.rank !== 1 || bias.shape[0] !== w.shape[0]) {
    throw new Error(`conv2d: bias must be [${w.shape[0]}] (one per output channel), got ${shapeString(bias.shape)}`);
  }
  return add(y, reshape(bias, [1, w.shape[0], 1, 1]));
}

/** The conv2d primitive with its geometry already resolved (padding as explicit pairs). */
export function conv2dResolved(x: Tensor, w: Tensor, attrs: ConvAttrs): Tensor {
  return apply("conv2d", [x, w], geometryOf(attrs));
}

/** ∂⟨gy, conv2d(x, w)⟩/∂x for x of spatial size `inputSize`: the transposed convolution of gy by w. */
export function conv2dInputGrad(gy: Tensor, w: Tensor, attrs: ConvAttrs, inputSize: readonly [number, number]): Tensor {
  return apply("conv2dInputGrad", [gy, w], { ...geometryOf(attrs), inputSize: [inputSize[0], inputSize[1]] });
}

/** ∂⟨gy, conv2d(x, w)⟩/∂w for a kernel of `kernelSize` [KH, KW]. */
export function conv2dWeightGrad(x: Tensor, gy: Tensor, attrs: ConvAttrs, kernelSize: readonly [number, number]): Tensor {
  return apply("conv2dWeightGrad", [x, gy], { ...geometryOf(attrs), kernelSize: [kernelSize[0], kernelSize[1]] });
}
