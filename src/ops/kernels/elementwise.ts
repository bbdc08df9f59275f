/** Launchers for unary, binary (broadcasting), where and cast kernels. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { sameShape, type Tensor } from "../../tensor.ts";
import { BINARY_OPS, type BinaryOp, UNARY_OPS, type UnaryOp } from "../../primitive.ts";
import { broadcastShapes, broadcastStrides } from "../shape.ts";
import { launchFlat } from "./launch.ts";
import { stridedLaunch } from "./strided.ts";
import { collapseDims } from "./collapse.ts";

function requireFloat(op: string, ...tensors: Tensor[]): void {
  for (const t of tensors) {
    if (t.dtype !== "float32") throw new Error(`${op}: expects float32 tensors, got ${t.dtype} [${t.shape}]`);
  }
}

export function unaryKernel(op: UnaryOp, x: Tensor): Tensor {
  requireFloat(op, x);
  const out = engine.allocate(op, x.shape);
  // Four values per thread where the size allows (main_vec4): 16-byte loads and stores.
  const vec4 = x.size % 4 === 0;
  const threads = vec4 ? x.size / 4 : x.size;
  launchFlat("unary", vec4 ? "main_vec4" : "main", new Params().u32(threads).build(), [x, out], threads, {
    OP: UNARY_OPS.indexOf(op),
  });
  return out;
}

/**
 * Which operand of a vec4 launch is one value (0 none, 1 a, 2 b), or undefined when main_vec4
 * cannot take the shapes: the size is not a multiple of 4, or an operand is neither the output's
 * shape nor one value.
 */
function vec4OneValue(a: Tensor, b: Tensor, shape: number[], size: number): number | undefined {
  if (size % 4 !== 0) return undefined;
  const full = (t: Tensor) => sameShape(t.shape, shape);
  if (full(a) && full(b)) return 0;
  if (a.size === 1 && full(b)) return 1;
  if (b.size === 1 && full(a)) return 2;
  return undefined;
}

/** `relu`: the result's ReLU is taken in the same pass (addRelu). */
export function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor, relu = false): Tensor {
  const name = relu ? `${op}Relu` : op;
  requireFloat(name, a, b);
  const shape = broadcastShapes(name, a.shape, b.shape);
  const out = engine.allocate(name, shape);
  const oneValue = vec4OneValue(a, b, shape, out.size);
  if (oneValue !== undefined) {
    const threads = out.size / 4;
    launchFlat("binary", "main_vec4", new Params().u32(threads).build(), [a, b, out], threads, {
      OP: BINARY_OPS.indexOf(op),
      RELU: relu ? 1 : 0,
      ONE_VALUE: oneValue,
    });
    return out;
  }
  const plain = sameShape(a.shape, shape) && sameShape(b.shape, shape);
  const dims = collapseDims(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const { params, constants } = stridedLaunch(out.size, dims.shape, dims.strides);
  // Same-shape operands skip the index math: the strided overrides would only add pipelines.
  launchFlat("binary", "main", params, [a, b, out], out.size, {
    ...(plain ? {} : constants),
    OP: BINARY_OPS.indexOf(op),
    BROADCAST: plain ? 0 : 1,
    RELU: relu ? 1 : 0,
  });
  return out;
}

export function whereKernel(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  requireFloat("where", cond, a, b);
  const shape = broadcastShapes("where", cond.shape, a.shape, b.shape);
  const out = engine.allocate("where", shape);
  const dims = collapseDims(shape, [cond, a, b].map((t) => broadcastStrides(t.shape, shape)));
  const { params, constants } = stridedLaunch(out.size, dims.shape, dims.strides);
  launchFlat("where", "main", params, [cond, a, b, out], out.size, constants);
  return out;
}

export function castKernel(x: Tensor, dtype: "float32" | "int32"): Tensor {
  const out = engine.allocate("cast", x.shape, dtype);
  if (x.dtype === dtype) {
    const { params, constants } = stridedLaunch(x.size, [x.size], [[1]]);
    launchFlat("movement", "strided_copy", params, [x, out], x.size, constants);
    return out;
  }
  const entry = dtype === "int32" ? "f32_to_i32" : "i32_to_f32";
  launchFlat("cast", entry, new Params().u32(x.size).build(), [x, out], x.size);
  return out;
}
