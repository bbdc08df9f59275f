/**
 * The primitives: every op the engine runs on the GPU is one of these, and every other op is a
 * composition of them. Each primitive has a launcher (src/ops/impls.ts) and a gradient rule
 * (src/autograd/rules.ts); both tables are typed over this list, so a new primitive without
 * either does not compile.
 */

export const UNARY_OPS = ["neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "tanh", "erf", "relu"] as const;
export const BINARY_OPS = [
  "add", "sub", "mul", "div", "pow", "maximum", "minimum",
  "less", "lessEqual", "greater", "greaterEqual", "equal", "notEqual",
] as const;

export type UnaryOp = typeof UNARY_OPS[number];
export type BinaryOp = typeof BINARY_OPS[number];

type None = Record<never, never>;

/** What each primitive is parameterised by, besides its tensor inputs. */
export type PrimitiveAttrs =
  & { [P in UnaryOp]: None }
  & { [P in BinaryOp]: None }
  & {
    /** where(cond, a, b): a where cond ≠ 0 else b, broadcasting all three. */
    where: None;
    /** Reductions over `axes` (sorted, unique); output keeps reduced axes as size 1 if keepDims. */
    sum: { axes: number[]; keepDims: boolean };
    max: { axes: number[]; keepDims: boolean };
    min: { axes: number[]; keepDims: boolean };
    argmax: { axis: number; keepDims: boolean };
    /** Batched matrix product [..., M, K] × [..., K, N] with optional transposes of either side. */
    matmul: { transA: boolean; transB: boolean };
    reshape: { shape: number[] };
    permute: { perm: number[] };
    /** Broadcast to `shape` (numpy rules: size-1 axes stretch, missing leading axes are added). */
    expand: { shape: number[] };
    slice: { begin: number[]; size: number[] };
    /** Constant padding: pads[d] = [before, after], both ≥ 0. */
    pad: { pads: [number, number][]; value: number };
    concat: { axis: number };
    /** out[...i...] = x[... indices[...i...] at `axis` ...]  (torch.gather semantics) */
    gather: { axis: number };
    /** Adjoint of gather: out has `size` along `axis`; out[... indices[i] ...] += src[i]. */
    scatterAdd: { axis: number; size: number };
    cast: { dtype: "float32" | "int32" };
  };

export type Primitive = keyof PrimitiveAttrs;
