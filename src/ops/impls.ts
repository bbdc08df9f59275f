/** The launcher of every primitive; typed over the primitive list, so none can be missing. */
import { engine } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import type { BinaryOp, Primitive, PrimitiveAttrs, UnaryOp } from "../primitive.ts";
import { binaryKernel, castKernel, unaryKernel, whereKernel } from "./kernels/elementwise.ts";
import { reduceKernel } from "./kernels/reduce.ts";
import { geluSecondGradProductKernel, pairedGeluGrad } from "./kernels/gelu.ts";
import { matmulKernel } from "./kernels/matmul.ts";
import { matmulSumKernel } from "./kernels/matmul_sum.ts";
import { sumProductsKernel } from "./kernels/sum_products.ts";
import { concatKernel, expandKernel, padKernel, permuteKernel, sliceKernel } from "./kernels/movement.ts";
import { gatherKernel, scatterAddKernel } from "./kernels/gather.ts";
import { attentionBackwardKernel, attentionDoubleBackwardKernel, attentionKernel } from "./kernels/attention.ts";
import { layerNormalizeBackwardKernel, layerNormalizeDoubleBackwardKernel, layerNormalizeKernel } from "./kernels/layer_norm.ts";
import { conv2dInputGradKernel, conv2dKernel, conv2dWeightGradKernel } from "./kernels/conv.ts";
import { maxPool2dArgmaxKernel } from "./kernels/pool.ts";
import {
  batchNormAffineGradKernel, batchNormBackwardKernel, batchNormBackwardSumsKernel, batchNormMixCoefficientsKernel, batchNormMixKernel, batchNormInferenceKernel, batchNormKernel, batchNormStatsKernel,
} from "./kernels/batch_norm.ts";
import { shapeSize } from "../tensor.ts";
import { correlate1dAdjointKernel, correlate1dKernel } from "./kernels/blur.ts";
import { shapeString } from "./shape.ts";
import { addNKernel } from "./kernels/add_n.ts";

export type Impl<P extends Primitive> = (inputs: Tensor[], attrs: PrimitiveAttrs[P]) => Tensor;

const unary = (op: UnaryOp): Impl<UnaryOp> => ([x]) => unaryKernel(op, x);
const binary = (op: BinaryOp): Impl<BinaryOp> => ([a, b]) => binaryKernel(op, a, b);

export const IMPLS: { [P in Primitive]: Impl<P> } = {
  neg: unary("neg"),
  exp: unary("exp"),
  log: unary("log"),
  sqrt: unary("sqrt"),
  rsqrt: unary("rsqrt"),
  abs: unary("abs"),
  sign: unary("sign"),
  tanh: unary("tanh"),
  erf: unary("erf"),
  relu: unary("relu"),
  gelu: unary("gelu"),
  add: binary("add"),
  sub: binary("sub"),
  mul: binary("mul"),
  div: binary("div"),
  pow: binary("pow"),
  maximum: binary("maximum"),
  minimum: binary("minimum"),
  less: binary("less"),
  lessEqual: binary("lessEqual"),
  greater: binary("greater"),
  greaterEqual: binary("greaterEqual"),
  equal: binary("equal"),
  notEqual: binary("notEqual"),
  reluGrad: binary("reluGrad"),
  geluGrad: ([g, x]) => pairedGeluGrad(g, x) ?? binaryKernel("geluGrad", g, x),
  geluSecondGrad: binary("geluSecondGrad"),
  where: ([c, a, b]) => whereKernel(c, a, b),
  geluSecondGradProduct: ([h, g, x]) => geluSecondGradProductKernel(h, g, x),
  sum: ([x], { axes, keepDims }) => reduceKernel("sum", x, axes, keepDims),
  max: ([x], { axes, keepDims }) => reduceKernel("max", x, axes, keepDims),
  min: ([x], { axes, keepDims }) => reduceKernel("min", x, axes, keepDims),
  sumSquares: ([x], { axes, keepDims }) => reduceKernel("sumSquares", x, axes, keepDims),
  argmax: ([x], { axis, keepDims }) => reduceKernel("argmax", x, [axis], keepDims),
  matmul: ([a, b], { transA, transB }) => matmulKernel(a, b, transA, transB),
  sumProducts: (operands) => sumProductsKernel(operands),
  matmulSum: (operands, { transA, transB }) =>
    matmulSumKernel(transA.map((_, i) => ({ a: operands[2 * i], b: operands[2 * i + 1], transA: transA[i], transB: transB[i] }))),
  reshape: ([x], { shape }) => {
    if (shapeSize(shape) !== x.size) throw new Error(`reshape: cannot view ${shapeString(x.shape)} as ${shapeString(shape)}`);
    return engine.view(x, shape);
  },
  permute: ([x], { perm }) => permuteKernel(x, perm),
  expand: ([x], { shape }) => expandKernel(x, shape),
  slice: ([x], { begin, size }) => sliceKernel(x, begin, size),
  pad: ([x], { pads, value }) => padKernel(x, pads, value),
  concat: (xs, { axis }) => concatKernel(xs, axis),
  gather: ([x, indices], { axis }) => gatherKernel(x, indices, axis),
  scatterAdd: ([src, indices], { axis, size }) => scatterAddKernel(src, indices, axis, size),
  cast: ([x], { dtype }) => castKernel(x, dtype),
  correlate1d: ([x], attrs) => correlate1dKernel(x, attrs),
  correlate1dAdjoint: ([g], attrs) => correlate1dAdjointKernel(g, attrs),
  layerNormalize: ([x], { eps }) => layerNormalizeKernel(x, eps),
  layerNormalizeBackward: ([x, g], { eps }) => layerNormalizeBackwardKernel(x, g, eps),
  layerNormalizeDoubleBackward: ([x, g, h], { eps }) => layerNormalizeDoubleBackwardKernel(x, g, h, eps),
  attention: ([qkv], { scale }) => attentionKernel(qkv, scale),
  attentionBackward: ([qkv, packed, cotangent], { scale }) => attentionBackwardKernel(qkv, packed, cotangent, scale),
  attentionDoubleBackward: ([g, qkv, packed, cotangent], { scale }) => attentionDoubleBackwardKernel(g, qkv, packed, cotangent, scale),
  conv2d: ([x, w], attrs) => conv2dKernel(x, w, attrs),
  conv2dInputGrad: ([gy, w], { inputSize, ...attrs }) => conv2dInputGradKernel(gy, w, attrs, inputSize),
  conv2dWeightGrad: ([x, gy], { kernelSize, ...attrs }) => conv2dWeightGradKernel(x, gy, attrs, kernelSize),
  maxPool2dArgmax: ([x], attrs) => maxPool2dArgmaxKernel(x, attrs),
  batchNormStats: ([x]) => batchNormStatsKernel(x),
  batchNormTrain: ([x, weight, bias], { eps }) => batchNormKernel(x, weight, bias, eps),
  batchNormEval: ([x, mean, variance, weight, bias], { eps }) => batchNormInferenceKernel(x, mean, variance, weight, bias, eps),
  batchNormTrainBackward: ([x, weight, g], { eps }) => batchNormBackwardKernel(x, weight, g, eps),
  batchNormAffineGrad: ([x, g], { eps }) => batchNormAffineGradKernel(x, g, eps),
  batchNormBackwardSums: ([x, g, h], { eps }) => batchNormBackwardSumsKernel(x, g, h, eps),
  batchNormMix: ([x, coefficients, ...terms], { eps, first }) => batchNormMixKernel(x, coefficients, terms, eps, first),
  batchNormMixCoefficients: ([sums, stats, weight], { eps, count }) => batchNormMixCoefficientsKernel(sums, stats, weight, eps, count),
  batchNormTrainRelu: ([x, weight, bias], { eps }) => batchNormKernel(x, weight, bias, eps, true),
  batchNormEvalRelu: ([x, mean, variance, weight, bias], { eps }) => batchNormInferenceKernel(x, mean, variance, weight, bias, eps, true),
  addRelu: ([a, b]) => binaryKernel("add", a, b, true),
  addN: (operands) => addNKernel(operands),
};
