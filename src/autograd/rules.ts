/**
 * Gradient rules: one entry per primitive, typed so a missing primitive does not compile.
 * Each rule maps the output's cotangent g to the inputs' cotangents using only public ops,
 * so the backward pass is itself recorded and can be differentiated again.
 * `null` marks a primitive whose output is piecewise constant (no gradient flows).
 */
import { sameShape, type Tensor } from "../tensor.ts";
import type { Node, Primitive } from "../primitive.ts";
import {
  abs, add, div, equal, exp, geluGrad, geluSecondGrad, greater, less, log, mul, neg, pow, reluGrad, sign, sub, where,
} from "../ops/elementwise.ts";
import { sum } from "../ops/reduce.ts";
import { matmul, type MatrixProduct } from "../ops/matmul.ts";
import { broadcastTo, pad, permute, reshape, slice } from "../ops/movement.ts";
import { gather, scatterAdd } from "../ops/indexing.ts";
import { reducedShape } from "../ops/shape.ts";
import { correlate1d, correlate1dAdjoint } from "../ops/blur.ts";
import { attentionBackward, attentionBackwardVjp, attentionDoubleBackwardVjp } from "../ops/attention.ts";
import { layerNormalizeBackward, layerNormalizeBackwardVjp, layerNormalizeDoubleBackwardVjp } from "../ops/layer_norm.ts";
import { geluSecondGradProduct, geluThirdDerivative } from "../ops/activation.ts";
import { conv2dInputGrad, conv2dResolved, conv2dWeightGrad } from "../ops/conv.ts";
import {
  batchNormAffineGradVjp, batchNormBackwardSumsVjp, batchNormEvalVjp, batchNormMixCoefficientsVjp, batchNormMixVjp, batchNormStatsVjp, batchNormTrainBackwardVjp, batchNormTrainVjp,
} from "../ops/batch_norm_primitives.ts";

/**
 * `wants[i]` is false for an input that does not depend on what is being differentiated (a
 * constant, a scale): rules with several inputs skip those cotangents instead of computing them.
 */
export type Rule<P extends Primitive> = (g: Tensor, node: Node<P>, wants: readonly boolean[]) => (Tensor | null)[];

/** The cotangent `make()` when it is wanted, else null (not computed). */
const when = (wanted: boolean, make: () => Tensor): Tensor | null => (wanted ? make() : null);

/** Sums a broadcast cotangent back down to `shape`. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes = g.shape.flatMap((d, i) => (i < lead || (shape[i - lead] === 1 && d !== 1) ? [i] : []));
  return reshape(sum(g, axes, true), shape);
}

/** Spreads a reduction's cotangent back over the reduced axes. */
function unreduce(g: Tensor, x: Tensor, axes: readonly number[]): Tensor {
  return broadcastTo(reshape(g, reducedShape(x.shape, axes, true)), x.shape);
}

/** max/min: the cotangent is shared equally among the tied extremes. */
function extremumRule(g: Tensor, node: Node<"max" | "min">): Tensor[] {
  const [x] = node.inputs;
  const { axes } = node.attrs;
  const hits = equal(x, unreduce(node.output, x, axes));
  const count = sum(hits, axes, true);
  return [mul(unreduce(g, x, axes), div(hits, broadcastTo(count, x.shape)))];
}

/** maximum/minimum: the chosen side gets g; ties split it half and half (as torch does). */
function pickRule(
  g: Tensor,
  node: Node<"maximum" | "minimum">,
  wants: readonly boolean[],
  wins: (a: Tensor, b: Tensor) => Tensor,
): (Tensor | null)[] {
  const [a, b] = node.inputs;
  const share = add(wins(a, b), mul(0.5, equal(a, b)));
  return [when(wants[0], () => sumTo(mul(g, share), a.shape)), when(wants[1], () => sumTo(mul(g, sub(1, share)), b.shape))];
}

/**
 * The cotangents of op(A) and op(B) in C = op(A)·op(B) as products yet to be computed: d op(A) =
 * g·op(B)ᵀ, d op(B) = op(A)ᵀ·g, transposed back where op transposed (null where not wanted).
 */
export function productCotangents(
  g: Tensor, a: Tensor, b: Tensor, transA: boolean, transB: boolean, wantA: boolean, wantB: boolean,
): [MatrixProduct | null, MatrixProduct | null] {
  return [
    wantA ? (transA ? { a: b, b: g, transA: transB, transB: true } : { a: g, b, transA: false, transB: !transB }) : null,
    wantB ? (transB ? { a: g, b: a, transA: true, transB: transA } : { a, b: g, transA: !transA, transB: false }) : null,
  ];
}

/**
 * A cotangent that grad() may hold uncomputed and sum with others of its kind in one pass: a matrix
 * product, or the column sums of g⊙x (a per-column factor's, broadcast over x by a multiply).
 */
export type CotangentTerm = { product: MatrixProduct } | { columns: [Tensor, Tensor] };

/** A term computed as its rule computes it, to the bit. */
export function computeTerm(term: CotangentTerm): Tensor {
  if ("product" in term) return matmul(term.product.a, term.product.b, term.product);
  const [g, x] = term.columns;
  return sumTo(mul(g, x), [x.shape[x.rank - 1]]);
}

/**
 * Input j's cotangent as a CotangentTerm, for the primitives whose rule computes one (null where
 * this node's shapes make it something else): matmul of matrices, and mul of x [..., C] by p [C].
 */
export const COTANGENT_TERMS: { [P in Primitive]?: (g: Tensor, node: Node<P>, j: number) => CotangentTerm | null } = {
  matmul: (g, { inputs: [a, b], attrs: { transA, transB } }, j) =>
    a.rank === 2 && b.rank === 2 ? { product: productCotangents(g, a, b, transA, transB, j === 0, j === 1)[j]! } : null,
  mul: (g, { inputs }, j) => {
    const [p, x] = [inputs[j], inputs[1 - j]];
    const perColumn = p !== x && p.rank === 1 && x.rank >= 2 && sameShape(x.shape, g.shape) && x.shape[x.rank - 1] === p.shape[0];
    return perColumn ? { columns: [g, x] } : null;
  },
};

export const RULES: { [P in Primitive]: Rule<P> | null } = {
  // d(−x) = −dx
  neg: (g) => [neg(g)],
  // d(eˣ) = eˣ·dx
  exp: (g, { output }) => [mul(g, output)],
  // d(log x) = dx / x
  log: (g, { inputs: [x] }) => [div(g, x)],
  // d√x = dx / (2√x)
  sqrt: (g, { output }) => [div(mul(g, 0.5), output)],
  // d(x^−½) = −½·x^−½ / x · dx
  rsqrt: (g, { inputs: [x], output }) => [mul(g, div(mul(output, -0.5), x))],
  // d|x| = sign(x)·dx
  abs: (g, { inputs: [x] }) => [mul(g, sign(x))],
  sign: null,
  // d(tanh x) = (1 − tanh²x)·dx
  tanh: (g, { output }) => [mul(g, sub(1, mul(output, output)))],
  // d(erf x) = 2/√π · e^(−x²)·dx
  erf: (g, { inputs: [x] }) => [mul(g, mul(2 / Math.sqrt(Math.PI), exp(neg(mul(x, x)))))],
  // d relu(x) = [x > 0]·dx = [relu(x) > 0]·dx: the mask is recomputed from the output, which the
  // next layer keeps anyway, so no tape keeps a mask
  relu: (g, { output }) => [reluGrad(g, output)],
  // d(a + b) = da + db, summed over broadcast axes
  add: (g, { inputs: [a, b] }, wants) => [when(wants[0], () => sumTo(g, a.shape)), when(wants[1], () => sumTo(g, b.shape))],
  // d(a − b) = da − db
  sub: (g, { inputs: [a, b] }, wants) => [when(wants[0], () => sumTo(g, a.shape)), when(wants[1], () => sumTo(neg(g), b.shape))],
  // d(ab) = b·da + a·db
  mul: (g, { inputs: [a, b] }, wants) => [
    when(wants[0], () => sumTo(mul(g, b), a.shape)),
    when(wants[1], () => sumTo(mul(g, a), b.shape)),
  ],
  // d(a/b) = da/b − (a/b)/b·db
  div: (g, { inputs: [a, b], output }, wants) => [
    when(wants[0], () => sumTo(div(g, b), a.shape)),
    when(wants[1], () => sumTo(neg(div(mul(g, output), b)), b.shape)),
  ],
  // d(aᵇ) = b·aᵇ⁻¹·da + aᵇ·log a·db   (log a taken as 0 where a ≤ 0)
  pow: (g, { inputs: [a, b], output }, wants) => [
    when(wants[0], () => sumTo(mul(g, mul(b, pow(a, sub(b, 1)))), a.shape)),
    when(wants[1], () => sumTo(mul(g, mul(output, where(greater(a, 0), log(abs(a)), 0))), b.shape)),
  ],
  maximum: (g, node, wants) => pickRule(g, node, wants, greater),
  minimum: (g, node, wants) => pickRule(g, node, wants, less),
  less: null,
  lessEqual: null,
  greater: null,
  greaterEqual: null,
  equal: null,
  notEqual: null,
  // linear in g; the mask's derivative is zero almost everywhere
  reluGrad: (h, { inputs: [g, y] }, wants) => [when(wants[0], () => sumTo(reluGrad(h, y), g.shape)), null],
  // gelu′ and gelu″ in one kernel each; gelu‴ = φ·(x³ − 4x) in public ops
  gelu: (g, { inputs: [x] }) => [geluGrad(g, x)],
  geluGrad: (h, { inputs: [g, x] }, wants) => {
    // The x-part first: its kernel also writes the g-part, which geluGrad(h, x) then takes.
    const dx = when(wants[1], () => sumTo(geluSecondGradProduct(h, g, x), x.shape));
    return [when(wants[0], () => sumTo(geluGrad(h, x), g.shape)), dx];
  },
  geluSecondGradProduct: (k, { inputs: [h, g, x] }, wants) => [
    when(wants[0], () => geluSecondGrad(mul(k, g), x)),
    when(wants[1], () => geluSecondGrad(mul(k, h), x)),
    when(wants[2], () => mul(mul(mul(k, h), g), geluThirdDerivative(x))),
  ],
  geluSecondGrad: (h, { inputs: [g, x] }, wants) => [
    when(wants[0], () => sumTo(geluSecondGrad(h, x), g.shape)),
    when(wants[1], () => sumTo(mul(mul(h, g), geluThirdDerivative(x)), x.shape)),
  ],
  // d where(c, a, b) = where(c, da, db)
  where: (g, { inputs: [c, a, b] }, wants) => [
    null,
    when(wants[1], () => sumTo(where(c, g, 0), a.shape)),
    when(wants[2], () => sumTo(where(c, 0, g), b.shape)),
  ],
  // d Σx = broadcast(dy)
  sum: (g, { inputs: [x], attrs }) => [unreduce(g, x, attrs.axes)],
  max: extremumRule,
  min: extremumRule,
  // d Σx² = 2x·dy: the cotangent stays reduced-shaped and the multiply broadcasts it (g + g: no constant to fill)
  sumSquares: (g, { inputs: [x], attrs: { axes } }) => [mul(x, reshape(add(g, g), reducedShape(x.shape, axes, true)))],
  argmax: null,
  matmul: (g, { inputs: [a, b], attrs: { transA, transB } }, wants) =>
    productCotangents(g, a, b, transA, transB, wants[0], wants[1]).map((term, i) =>
      term && sumTo(matmul(term.a, term.b, term), [a, b][i].shape)
    ),
  // column sums of Σ aᵢ⊙bᵢ: each operand's cotangent is the other times g, broadcast over the rows
  sumProducts: (g, { inputs }, wants) => inputs.map((_, j) => when(wants[j], () => mul(inputs[j ^ 1], g))),
  // each term's operands get their cotangents as in matmul
  matmulSum: (g, { inputs, attrs: { transA, transB } }, wants) =>
    transA.flatMap((_, i) =>
      productCotangents(g, inputs[2 * i], inputs[2 * i + 1], transA[i], transB[i], wants[2 * i], wants[2 * i + 1])
        .map((term) => term && matmul(term.a, term.b, term))
    ),
  reshape: (g, { inputs: [x] }) => [reshape(g, x.shape)],
  // the inverse permutation carries g back
  permute: (g, { attrs: { perm } }) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [permute(g, inverse)];
  },
  expand: (g, { inputs: [x] }) => [sumTo(g, x.shape)],
  // slice and pad are each other's adjoints
  slice: (g, { inputs: [x], attrs: { begin, size } }) => [
    pad(g, begin.map((b, d) => [b, x.shape[d] - b - size[d]] as [number, number])),
  ],
  pad: (g, { inputs: [x], attrs: { pads } }) => [slice(g, pads.map((p) => p[0]), x.shape)],
  concat: (g, { inputs, attrs: { axis } }, wants) => {
    let start = 0;
    return inputs.map((x, i) => {
      const begin = x.shape.map((_, d) => (d === axis ? start : 0));
      start += x.shape[axis];
      return when(wants[i], () => slice(g, begin, x.shape));
    });
  },
  // gather and scatter-add are each other's adjoints
  gather: (g, { inputs: [x, indices], attrs: { axis } }) => [scatterAdd(g, indices, axis, x.shape[axis]), null],
  scatterAdd: (g, { inputs: [, indices], attrs: { axis } }) => [gather(g, indices, axis), null],
  cast: null,
  // correlation and its adjoint are linear and each other's transposes
  correlate1d: (g, { attrs }) => [correlate1dAdjoint(g, attrs)],
  correlate1dAdjoint: (g, { attrs }) => [correlate1d(g, attrs)],
  // layer norm's normalisation: its fused backward, whose own gradient is written with public ops
  layerNormalize: (g, { inputs: [x], attrs: { eps } }) => [layerNormalizeBackward(x, g, eps)],
  layerNormalizeBackward: (h, { inputs: [x, g], attrs: { eps } }, wants) => layerNormalizeBackwardVjp(h, x, g, eps, wants),
  layerNormalizeDoubleBackward: (k, { inputs, attrs: { eps } }, wants) => layerNormalizeDoubleBackwardVjp(k, inputs, eps, wants),
  // the fused backward: the stack (dq, dk, dv) = attentionBackward(qkv, o‖lse, dO‖dlse), itself qkv's gradient
  attention: (g, { inputs: [qkv], output, attrs: { scale } }) => [attentionBackward(qkv, output, g, scale)],
  // its transpose, written with public ops (see attentionBackwardVjp); P from the packed output's lse
  attentionBackward: (g, { inputs: [qkv, packed, cotangent], attrs: { scale } }) => {
    const [dQkv, dCotangent] = attentionBackwardVjp(g, qkv, packed, cotangent, scale);
    return [dQkv, null, dCotangent];
  },
  // the fused attentionBackwardVjp's own transpose: the derivative of its composition, in public ops
  attentionDoubleBackward: (h, { inputs, attrs: { scale } }) => attentionDoubleBackwardVjp(h, inputs, scale),
  // y = x ⋆ w: dx = transposed conv of g with w, dw = correlation of x with g
  conv2d: (g, { inputs: [x, w], attrs }, wants) => [
    when(wants[0], () => conv2dInputGrad(g, w, attrs, [x.shape[2], x.shape[3]])),
    when(wants[1], () => conv2dWeightGrad(x, g, attrs, [w.shape[2], w.shape[3]])),
  ],
  // dx = IG(gy, w) is bilinear with ⟨h, IG(gy, w)⟩ = ⟨conv2d(h, w), gy⟩ = ⟨WG(h, gy), w⟩
  conv2dInputGrad: (h, { inputs: [gy, w], attrs }, wants) => [
    when(wants[0], () => conv2dResolved(h, w, attrs)),
    when(wants[1], () => conv2dWeightGrad(h, gy, attrs, [w.shape[2], w.shape[3]])),
  ],
  // dw = WG(x, gy) is bilinear with ⟨h, WG(x, gy)⟩ = ⟨conv2d(x, h), gy⟩ = ⟨IG(gy, h), x⟩
  conv2dWeightGrad: (h, { inputs: [x, gy], attrs }, wants) => [
    when(wants[0], () => conv2dInputGrad(gy, h, attrs, [x.shape[2], x.shape[3]])),
    when(wants[1], () => conv2dResolved(x, h, attrs)),
  ],
  maxPool2dArgmax: null,
  // batch norm: the fused backward kernels, whose own gradients are composed (batch_norm_primitives.ts)
  batchNormStats: (h, { inputs: [x], output }) => [batchNormStatsVjp(h, x, output)],
  batchNormTrain: (g, { inputs: [x, weight], attrs: { eps } }, wants) => batchNormTrainVjp(g, x, weight, eps, wants),
  batchNormEval: (g, { inputs, attrs: { eps } }, wants) => batchNormEvalVjp(g, inputs, eps, wants),
  batchNormTrainBackward: (h, { inputs, attrs: { eps } }, wants) => batchNormTrainBackwardVjp(h, inputs, eps, wants),
  batchNormAffineGrad: (h, { inputs, attrs: { eps } }, wants) => batchNormAffineGradVjp(h, inputs, eps, wants),
  batchNormBackwardSums: (k, { inputs, attrs: { eps } }, wants) => batchNormBackwardSumsVjp(k, inputs, eps, wants),
  batchNormMix: (k, { inputs: [x, coefficients, ...terms], attrs: { eps, first } }, wants) =>
    batchNormMixVjp(k, x, coefficients, terms, eps, first, wants),
  batchNormMixCoefficients: (k, { inputs, attrs: { eps, count } }, wants) => batchNormMixCoefficientsVjp(k, inputs, eps, count, wants),
  // a fused ReLU (fused_relu.ts): the cotangent masked where the output is positive, then the unfused rule
  batchNormTrainRelu: (g, { inputs: [x, weight], output, attrs: { eps } }, wants) =>
    batchNormTrainVjp(reluGrad(g, output), x, weight, eps, wants),
  batchNormEvalRelu: (g, { inputs, output, attrs: { eps } }, wants) => batchNormEvalVjp(reluGrad(g, output), inputs, eps, wants),
  addRelu: (g, { inputs: [a, b], output }, wants) => {
    const masked = reluGrad(g, output);
    return [when(wants[0], () => sumTo(masked, a.shape)), when(wants[1], () => sumTo(masked, b.shape))];
  },
  // Every operand gets g itself (one shape, no broadcasting).
  addN: (g, { inputs }, wants) => inputs.map((_, j) => (wants[j] ? g : null)),
};

/**
 * The tensors of a node that its rule reads as values (the rest it reads only for their shapes),
 * given which inputs are wanted: a tape retains these and no others. A primitive not listed keeps
 * all its inputs and its output.
 */
type Saved<P extends Primitive> = (node: Node<P>, wants: readonly boolean[]) => (Tensor | false)[];

const nothing = () => [];
const output = ({ output }: Node) => [output];
const firstInput = ({ inputs: [x] }: Node) => [x];
/** For a rule bilinear in two inputs: each one's cotangent reads the other. */
const eachOther = ({ inputs: [a, b] }: Node, wants: readonly boolean[]) => [wants[1] && a, wants[0] && b];

const SAVED: { [P in Primitive]?: Saved<P> } = {
  neg: nothing,
  exp: output,
  log: firstInput,
  sqrt: output,
  abs: firstInput,
  tanh: output,
  erf: firstInput,
  relu: output,
  reluGrad: ({ inputs: [, y] }) => [y],
  gelu: firstInput,
  geluGrad: ({ inputs: [g, x] }, wants) => [wants[1] && g, x],
  geluSecondGrad: ({ inputs: [g, x] }, wants) => [wants[1] && g, x],
  geluSecondGradProduct: ({ inputs: [h, g, x] }, wants) => [(wants[1] || wants[2]) && h, (wants[0] || wants[2]) && g, x],
  add: nothing,
  sub: nothing,
  mul: eachOther,
  div: ({ inputs: [, b], output }, wants) => [b, wants[1] && output],
  where: firstInput,
  sum: nothing,
  sumSquares: firstInput,
  reshape: nothing,
  permute: nothing,
  expand: nothing,
  slice: nothing,
  pad: nothing,
  concat: nothing,
  gather: ({ inputs: [, indices] }) => [indices],
  scatterAdd: ({ inputs: [, indices] }) => [indices],
  correlate1d: nothing,
  correlate1dAdjoint: nothing,
  matmul: eachOther,
  // term i's A is read for B's cotangent and B for A's
  matmulSum: ({ inputs }, wants) => inputs.map((_, j) => wants[j ^ 1] && inputs[j]),
  sumProducts: ({ inputs }, wants) => inputs.map((_, j) => wants[j ^ 1] && inputs[j]),
  attention: ({ inputs, output }) => [...inputs, output],
  // the packed output (input 3) is recomputed by the rule
  layerNormalize: firstInput,
  layerNormalizeBackward: ({ inputs: [x, g] }, wants) => [x, wants[0] && g],
  layerNormalizeDoubleBackward: ({ inputs }) => inputs,
  attentionBackward: ({ inputs }) => inputs,
  attentionDoubleBackward: ({ inputs }) => inputs,
  conv2d: eachOther,
  conv2dInputGrad: eachOther,
  // (x, gy): x's cotangent reads gy, gy's reads x
  conv2dWeightGrad: eachOther,
  batchNormTrain: ({ inputs: [x, weight] }, wants) => [x, wants[0] && weight],
  batchNormEval: ({ inputs: [x, mean, variance, weight] }) => [x, mean, variance, weight],
  batchNormTrainBackward: ({ inputs: [x, weight, g] }, wants) => [x, (wants[0] || wants[2]) && weight, (wants[0] || wants[1]) && g],
  batchNormAffineGrad: ({ inputs: [x, g] }, wants) => [x, wants[0] && g],
  batchNormBackwardSums: ({ inputs: [x, g, h] }, wants) => [x, (wants[0] || wants[2]) && g, (wants[0] || wants[1]) && h],
  batchNormMix: ({ inputs: [x, coefficients, ...terms] }, wants) => [x, coefficients, ...terms.map((t) => wants[1] && t)],
  batchNormMixCoefficients: ({ inputs }) => inputs,
  batchNormTrainRelu: ({ inputs: [x, weight], output }, wants) => [x, wants[0] && weight, output],
  batchNormEvalRelu: ({ inputs: [x, mean, variance, weight], output }) => [x, mean, variance, weight, output],
  addRelu: output,
  addN: nothing,
};

export function savedTensors(node: Node, wants: readonly boolean[]): Tensor[] {
  const saved = SAVED[node.primitive] as Saved<Primitive> | undefined;
  if (!saved) return [...node.inputs, node.output];
  return saved(node, wants).filter((t): t is Tensor => t !== false);
}
