/**
 * The op-spec table's rows for the core primitives and compositions. Shapes include non-tile
 * multiples (matmul tiles are 64×64), size-1 dimensions and broadcasting; each row is checked
 * forward, and to first and second order, against the float64 reference (test/ops/primitives.test.ts).
 */
import type { OpSpec } from "../spec.ts";

type UnaryName = "neg" | "exp" | "log" | "sqrt" | "rsqrt" | "abs" | "tanh" | "erf" | "relu";
const unary = (name: UnaryName, domain: "any" | "positive" | "awayFromZero" = "any"): OpSpec => ({
  name,
  inputs: [{ shape: [3, 5], domain }],
  fn: (o, x) => o[name](x),
});

export const CORE_SPECS: OpSpec[] = [
  unary("neg"),
  unary("exp"),
  unary("log", "positive"),
  unary("sqrt", "positive"),
  unary("rsqrt", "positive"),
  unary("abs", "awayFromZero"),
  unary("tanh"),
  { name: "tanh of large and tiny values", inputs: [{ shape: [2, 4] }], fn: (o, x) => o.tanh(o.mul(x, o.constant([12], []))) },
  unary("erf"),
  unary("relu", "awayFromZero"),
  { name: "gelu", inputs: [{ shape: [3, 5] }], fn: (o, x) => o.gelu(o.mul(x, o.constant([3], []))) },
  {
    name: "geluGrad broadcast",
    inputs: [{ shape: [2, 1, 4] }, { shape: [3, 4] }],
    fn: (o, g, x) => o.geluGrad(g, o.mul(x, o.constant([3], []))),
  },
  {
    name: "geluSecondGrad broadcast",
    inputs: [{ shape: [3, 1] }, { shape: [3, 4] }],
    fn: (o, g, x) => o.geluSecondGrad(g, o.mul(x, o.constant([3], []))),
  },
  { name: "sign", inputs: [{ shape: [7], domain: "awayFromZero" }], fn: (o, x) => o.sign(x), order: 0 },
  { name: "add broadcast", inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }], fn: (o, a, b) => o.add(a, b) },
  { name: "sub broadcast", inputs: [{ shape: [4] }, { shape: [2, 1, 4] }], fn: (o, a, b) => o.sub(a, b) },
  { name: "mul broadcast", inputs: [{ shape: [5, 1, 3] }, { shape: [1, 4, 3] }], fn: (o, a, b) => o.mul(a, b) },
  { name: "div", inputs: [{ shape: [3, 4] }, { shape: [3, 4], domain: "positive" }], fn: (o, a, b) => o.div(a, b) },
  { name: "pow", inputs: [{ shape: [3, 4], domain: "positive" }, { shape: [3, 4] }], fn: (o, a, b) => o.pow(a, b) },
  { name: "pow of negative base, integer exponent", inputs: [{ shape: [5] }], fn: (o, a) => o.pow(a, o.constant([3], [])) },
  { name: "maximum", inputs: [{ shape: [4, 3] }, { shape: [3] }], fn: (o, a, b) => o.maximum(a, b) },
  { name: "minimum", inputs: [{ shape: [4, 3] }, { shape: [4, 1] }], fn: (o, a, b) => o.minimum(a, b) },
  ...(["less", "lessEqual", "greater", "greaterEqual", "equal", "notEqual"] as const).map((name): OpSpec => ({
    name,
    inputs: [{ shape: [4, 3] }, { shape: [3] }],
    // Row 1 compared with itself gives ties.
    fn: (o, a, b) => o[name](o.add(a, o.mul(b, o.constant([0], []))), o.slice(a, [1, 0], [1, 3])),
    order: 0,
  })),
  // Four values per thread (main_vec4: size 4·k, operands of the output's shape or one value)
  // and one per thread (4·k + 1), for each family.
  ...([[3, 4], [13]] as const).flatMap(([...shape]): OpSpec[] => [
    ...(["add", "sub", "mul", "maximum", "minimum", "reluGrad", "geluGrad", "addRelu"] as const).map((name): OpSpec => ({
      name: `${name} [${shape}]`,
      inputs: [{ shape, domain: "awayFromZero" }, { shape, domain: "awayFromZero" }],
      fn: (o, a, b) => o[name](a, b),
    })),
    { name: `div [${shape}]`, inputs: [{ shape }, { shape, domain: "positive" }], fn: (o, a, b) => o.div(a, b) },
    { name: `pow [${shape}]`, inputs: [{ shape, domain: "positive" }, { shape }], fn: (o, a, b) => o.pow(a, b) },
    { name: `mul by one value [${shape}]`, inputs: [{ shape }, { shape: [] }], fn: (o, a, b) => o.mul(a, b) },
    { name: `sub from one value [${shape}]`, inputs: [{ shape: [1] }, { shape }], fn: (o, a, b) => o.sub(a, b) },
    {
      // One kernel at [3, 4] (with geluGrad's value for the same h and x), the product and geluSecondGrad at [13].
      name: `geluSecondGradProduct [${shape}]`,
      inputs: [{ shape }, { shape }, { shape }],
      fn: (o, hh, g, x) => o.geluSecondGradProduct(hh, g, o.mul(x, o.constant([2], []))),
    },
    {
      name: `geluSecondGrad by one value [${shape}]`,
      inputs: [{ shape: [] }, { shape }],
      fn: (o, g, x) => o.geluSecondGrad(g, x),
    },
    { name: `greater than one value [${shape}]`, inputs: [{ shape }, { shape: [] }], fn: (o, a, b) => o.greater(a, b), order: 0 },
    ...(["exp", "tanh", "erf"] as const).map((name): OpSpec => ({
      name: `${name} [${shape}]`,
      inputs: [{ shape }],
      fn: (o, x) => o[name](x),
    })),
    { name: `gelu [${shape}]`, inputs: [{ shape }], fn: (o, x) => o.gelu(x) },
  ]),
  {
    name: "where",
    inputs: [{ shape: [3, 4] }, { shape: [3, 4] }, { shape: [4] }],
    fn: (o, c, a, b) => o.where(o.greater(c, o.constant([0], [])), a, b),
  },
  { name: "sum all", inputs: [{ shape: [3, 5, 2] }], fn: (o, x) => o.sum(x, [0, 1, 2]) },
  { name: "sum axes 0,2 keepDims", inputs: [{ shape: [3, 5, 2] }], fn: (o, x) => o.sum(x, [0, 2], true) },
  { name: "sum long rows", inputs: [{ shape: [2, 300] }], fn: (o, x) => o.sum(x, [1]), order: 1 },
  { name: "max axis 1", inputs: [{ shape: [4, 70] }], fn: (o, x) => o.max(x, [1]) },
  { name: "min axes 0", inputs: [{ shape: [5, 3] }], fn: (o, x) => o.min(x, [0]) },
  { name: "matmul 1×1×1", inputs: [{ shape: [1, 1] }, { shape: [1, 1] }], fn: (o, a, b) => o.matmul(a, b) },
  { name: "matmul 5×7·7×3", inputs: [{ shape: [5, 7] }, { shape: [7, 3] }], fn: (o, a, b) => o.matmul(a, b) },
  {
    name: "matmul transA transB",
    inputs: [{ shape: [6, 3] }, { shape: [4, 6] }],
    fn: (o, a, b) => o.matmul(a, b, { transA: true, transB: true }),
  },
  {
    name: "matmul batched with broadcast right side",
    inputs: [{ shape: [2, 3, 5] }, { shape: [5, 4] }],
    fn: (o, a, b) => o.matmul(a, b),
  },
  {
    name: "matmul 67×130·130×65 forward (not tile multiples)",
    inputs: [{ shape: [67, 130] }, { shape: [130, 65] }],
    fn: (o, a, b) => o.matmul(a, b),
    order: 0,
    rtol: 1e-4,
    atol: 1e-4,
  },
  {
    name: "matmul transA 70×66 forward",
    inputs: [{ shape: [3, 70, 66] }, { shape: [3, 70, 9] }],
    fn: (o, a, b) => o.matmul(a, b, { transA: true }),
    order: 0,
    rtol: 1e-4,
    atol: 1e-4,
  },
  // matmulSum: on the texture kernels terms whose K are multiples of 4 run as one product along the
  // concatenated K (staged by pack and by copy), others as a product and an add each.
  {
    name: "matmulSum of two products side by side along K",
    inputs: [{ shape: [8, 5] }, { shape: [8, 6] }, { shape: [12, 5] }, { shape: [12, 6] }],
    fn: (o, a1, b1, a2, b2) => o.matmulSum([{ a: a1, b: b1, transA: true }, { a: a2, b: b2, transA: true }]),
  },
  {
    name: "matmulSum of three products, every transpose",
    inputs: [{ shape: [5, 4] }, { shape: [4, 6] }, { shape: [8, 5] }, { shape: [6, 8] }, { shape: [5, 12] }, { shape: [12, 6] }],
    fn: (o, a1, b1, a2, b2, a3, b3) =>
      o.matmulSum([{ a: a1, b: b1 }, { a: a2, b: b2, transA: true, transB: true }, { a: a3, b: b3 }]),
  },
  {
    name: "matmulSum with K not a multiple of 4 (a product and an add per term)",
    inputs: [{ shape: [3, 3] }, { shape: [3, 2] }, { shape: [3, 4] }, { shape: [4, 2] }],
    fn: (o, a1, b1, a2, b2) => o.matmulSum([{ a: a1, b: b1 }, { a: a2, b: b2 }]),
  },
  {
    name: "matmulSum 67×128·128×64 + 67×64·64×64 forward (copied operands, not tile multiples)",
    inputs: [{ shape: [67, 128] }, { shape: [128, 64] }, { shape: [67, 64] }, { shape: [64, 64] }],
    fn: (o, a1, b1, a2, b2) => o.matmulSum([{ a: a1, b: b1 }, { a: a2, b: b2 }]),
    order: 0,
    rtol: 1e-4,
    atol: 1e-4,
  },
  // A parameter read by two products: grad() sums its two product cotangents in one matmulSum.
  {
    name: "matrix read by two products (its gradient one matmulSum)",
    inputs: [{ shape: [8, 6] }, { shape: [4, 6] }],
    fn: (o, x, w) => o.matmul(o.tanh(o.matmul(x, w, { transB: true })), w),
  },
  // sumProducts: a per-column factor's cotangents from several broadcast products, in one pass.
  { name: "sumProducts of one pair", inputs: [{ shape: [5, 3] }, { shape: [5, 3] }], fn: (o, a, b) => o.sumProducts([[a, b]]) },
  {
    name: "sumProducts of three pairs over two leading axes",
    inputs: [{ shape: [2, 3, 4] }, { shape: [2, 3, 4] }, { shape: [2, 3, 4] }, { shape: [2, 3, 4] }, { shape: [2, 3, 4] }, { shape: [2, 3, 4] }],
    fn: (o, a0, b0, a1, b1, a2, b2) => o.sumProducts([[a0, b0], [a1, b1], [a2, b2]]),
  },
  // A per-column factor read by two broadcast multiplies: grad() sums its two cotangents in one sumProducts.
  {
    name: "per-column factor read by two multiplies (its gradient one sumProducts)",
    inputs: [{ shape: [4, 3] }, { shape: [3] }],
    fn: (o, x, gamma) => o.mul(o.tanh(o.mul(x, gamma)), gamma),
  },
  { name: "reshape", inputs: [{ shape: [2, 6] }], fn: (o, x) => o.mul(o.reshape(x, [3, 4]), o.reshape(x, [3, 4])) },
  { name: "permute", inputs: [{ shape: [2, 3, 4] }], fn: (o, x) => o.permute(o.mul(x, x), [2, 0, 1]) },
  { name: "broadcastTo", inputs: [{ shape: [3, 1] }], fn: (o, x) => o.broadcastTo(o.exp(x), [2, 3, 4]) },
  { name: "slice", inputs: [{ shape: [4, 5] }], fn: (o, x) => o.slice(o.mul(x, x), [1, 2], [2, 3]) },
  // A slice of the leading elements is a view of its input; its VJP pads the end, whose VJP is such a slice again.
  { name: "slice prefix along the first axis", inputs: [{ shape: [4, 5] }], fn: (o, x) => o.slice(o.mul(x, x), [0, 0], [2, 5]) },
  { name: "slice prefix: one row, part of it", inputs: [{ shape: [2, 3, 4] }], fn: (o, x) => o.slice(o.exp(x), [0, 0, 0], [1, 2, 4]) },
  { name: "slice of everything", inputs: [{ shape: [2, 3] }], fn: (o, x) => o.slice(o.mul(x, x), [0, 0], [2, 3]) },
  {
    name: "slice prefix and the rest of one tensor",
    inputs: [{ shape: [4, 3] }],
    fn: (o, x) => {
      const y = o.mul(x, x);
      return o.mul(o.slice(y, [0, 0], [2, 3]), o.slice(y, [2, 0], [2, 3]));
    },
  },
  { name: "pad", inputs: [{ shape: [2, 3] }], fn: (o, x) => o.pad(o.mul(x, x), [[1, 0], [2, 1]], 0.5) },
  // pad merges unpadded axes into the axis outside them (a size-1 axis outside all goes).
  {
    name: "pad of the middle axis (inner axes merged)",
    inputs: [{ shape: [1, 2, 3, 4, 2] }],
    fn: (o, x) => o.pad(o.mul(x, x), [[0, 0], [0, 0], [2, 1], [0, 0], [0, 0]], -0.25),
  },
  { name: "pad of the outer axis (rank 1)", inputs: [{ shape: [2, 3, 4] }], fn: (o, x) => o.pad(o.exp(x), [[3, 1], [0, 0], [0, 0]]) },
  {
    name: "concat axis 1",
    inputs: [{ shape: [2, 3] }, { shape: [2, 1] }],
    fn: (o, a, b) => o.concat([o.mul(a, a), o.exp(b), a], 1),
  },
  {
    name: "gather axis 1",
    inputs: [{ shape: [3, 4] }],
    fn: (o, x) => o.gather(o.mul(x, x), o.constant([3, 0, 0, 1, 2, 2, 3, 3, 1, 0, 1, 2], [3, 4], true), 1),
  },
  {
    name: "scatterAdd axis 0 with repeated indices",
    inputs: [{ shape: [4, 2] }],
    fn: (o, x) => o.scatterAdd(o.mul(x, x), o.constant([0, 2, 2, 2, 0, 1, 0, 0], [4, 2], true), 0, 3),
  },
  // Compositions where TensorFlow.js's second derivatives go wrong (tfjs#3252).
  { name: "softmax", inputs: [{ shape: [3, 6] }], fn: (o, x) => o.softmax(x, 1) },
  { name: "log-softmax", inputs: [{ shape: [2, 5] }], fn: (o, x) => o.sub(x, o.logSumExp(x, [1], true)) },
  {
    name: "softmax attention-like",
    inputs: [{ shape: [4, 3] }, { shape: [5, 3] }, { shape: [5, 2] }],
    fn: (o, q, k, v) => o.matmul(o.softmax(o.matmul(q, k, { transB: true }), 1), v),
  },
  {
    name: "tanh∘exp·x",
    inputs: [{ shape: [3, 3] }],
    fn: (o, x) => o.mul(o.tanh(o.exp(x)), x),
  },
  {
    name: "exp∘tanh / sqrt",
    inputs: [{ shape: [6], domain: "positive" }],
    fn: (o, x) => o.div(o.exp(o.tanh(x)), o.sqrt(x)),
  },
  {
    name: "erf·relu mix",
    inputs: [{ shape: [2, 5], domain: "awayFromZero" }],
    fn: (o, x) => o.mul(o.erf(x), o.add(o.relu(x), o.abs(o.neg(x)))),
  },
  // Convolution (its gradients are the conv2dInputGrad / conv2dWeightGrad primitives), pooling, attention.
  {
    name: "conv2d with stride, asymmetric padding and dilation",
    inputs: [{ shape: [2, 3, 6, 5] }, { shape: [4, 3, 3, 2] }],
    fn: (o, x, w) => o.conv2d(x, w, { stride: [2, 1], padding: [[1, 2], [0, 1]], dilation: [1, 2], groups: 1 }),
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    name: "conv2d with 2 groups",
    inputs: [{ shape: [1, 4, 5, 5] }, { shape: [4, 2, 3, 3] }],
    fn: (o, x, w) => o.conv2d(x, w, { stride: [1, 1], padding: [[1, 1], [1, 1]], dilation: [1, 1], groups: 2 }),
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    // Few pixels and more than 8 channels: the texture kernels' threads step through rows (ROWS_FAST).
    name: "conv2d with 4 pixels and 20 output channels, stride 2",
    inputs: [{ shape: [1, 9, 3, 3] }, { shape: [20, 9, 3, 3] }],
    fn: (o, x, w) => o.conv2d(x, w, { stride: [2, 2], padding: [[1, 1], [1, 1]], dilation: [1, 1], groups: 1 }),
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    name: "maxPool2d 3×3, stride 2, padding 1",
    inputs: [{ shape: [2, 2, 5, 6] }],
    fn: (o, x) => o.maxPool2d(o.mul(x, x), { kernel: [3, 3], stride: [2, 2], padding: [[1, 1], [1, 1]], dilation: [1, 1] }),
  },
  {
    name: "attention, fused kernel",
    inputs: [{ shape: [2, 5, 4] }, { shape: [2, 5, 4] }, { shape: [2, 5, 4] }],
    fn: (o, q, k, v) => o.attention(q, k, v),
    rtol: 1e-4,
    atol: 1e-5,
  },
  // Layer norm's fused normalisation, its backward and double backward: every order of layerNorm up to the fourth.
  {
    name: "layerNormalize over the last axis",
    inputs: [{ shape: [2, 3, 7] }],
    fn: (o, x) => o.mul(o.layerNormalize(x, 1e-5), o.tanh(x)),
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    name: "layerNormalizeBackward",
    inputs: [{ shape: [4, 6] }, { shape: [4, 6] }],
    fn: (o, x, g) => o.layerNormalizeBackward(x, o.mul(g, g), 1e-6),
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    name: "layerNormalizeDoubleBackward (its gradient: the fourth order of layerNorm)",
    inputs: [{ shape: [3, 5] }, { shape: [3, 5] }, { shape: [3, 5] }],
    fn: (o, x, g, h) => o.layerNormalizeDoubleBackward(x, g, o.tanh(h), 1e-6),
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    name: "attention of a packed qkv, fused kernel",
    inputs: [{ shape: [3, 2, 5, 4] }],
    fn: (o, qkv) => o.packedAttention(qkv),
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    name: "attention of a qkv projection [B, T, 3, H, D], fused kernel",
    inputs: [{ shape: [2, 5, 3, 2, 4] }],
    fn: (o, qkv) => o.qkvAttention(qkv),
    rtol: 1e-4,
    atol: 1e-5,
  },
  // The gradient of attention's fused backward (a harmonized step's double backward), checked to second order
  // through its rule; at T = 67 the keys span two tiles (forward only: its rule does not depend on T).
  {
    name: "attentionDoubleBackward, fused kernels",
    inputs: [{ shape: [3, 2, 5, 4] }, { shape: [3, 2, 5, 4] }, { shape: [2 * 5 * 5] }],
    fn: (o, g, qkv, cotangent) => o.attentionDoubleBackward(g, qkv, cotangent),
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    name: "attentionDoubleBackward of a qkv projection [B, T, 3, H, D]",
    inputs: [{ shape: [2, 5, 3, 2, 4] }, { shape: [2, 5, 3, 2, 4] }, { shape: [2 * 2 * 5 * 5] }],
    fn: (o, g, qkv, cotangent) => o.attentionDoubleBackward(g, qkv, cotangent),
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    name: "attentionDoubleBackward over two key tiles",
    inputs: [{ shape: [3, 1, 67, 4] }, { shape: [3, 1, 67, 4] }, { shape: [67 * 5] }],
    fn: (o, g, qkv, cotangent) => o.attentionDoubleBackward(g, qkv, cotangent),
    order: 0,
    rtol: 1e-4,
    atol: 1e-5,
  },
  // argmax (indices) and cast to int32 (truncation) have no gradient: their rows check values only.
  { name: "argmax axis 1", inputs: [{ shape: [4, 7] }], fn: (o, x) => o.argmax(x, 1), order: 0 },
  {
    name: "cast float32 → int32 → float32",
    inputs: [{ shape: [9] }],
    fn: (o, x) => o.cast(o.cast(o.mul(x, o.constant([5], [])), "int32"), "float32"),
    order: 0,
  },
  // Long loops and large reductions, forward only.
  {
    name: "sum over 2^20 elements",
    inputs: [{ shape: [1 << 20], domain: "unit" }],
    fn: (o, x) => o.sum(x, [0]),
    order: 0,
    rtol: 1e-6,
  },
  {
    name: "max over 2^20 elements, column layout",
    inputs: [{ shape: [1 << 18, 4] }],
    fn: (o, x) => o.max(x, [0]),
    order: 0,
  },
  {
    name: "matmul with K = 40000 (longer than one pass on lavapipe)",
    inputs: [{ shape: [3, 40000], domain: "unit" }, { shape: [40000, 2], domain: "unit" }],
    fn: (o, a, b) => o.matmul(a, b),
    order: 0,
    rtol: 1e-4,
  },
  {
    name: "matmul transposed with K = 40000",
    inputs: [{ shape: [40000, 2], domain: "unit" }, { shape: [3, 40000], domain: "unit" }],
    fn: (o, a, b) => o.matmul(a, b, { transA: true, transB: true }),
    order: 0,
    rtol: 1e-4,
  },
];
