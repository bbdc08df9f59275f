/** Launchers for unary, binary (broadcasting), where and cast kernels. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { sameShape, type Tensor } from "../../tensor.ts";
import { BINARY_OPS, type BinaryOp, UNARY_OPS, type UnaryOp } from "../../primitive.ts";
import { broadcastShapes, broadcastStrides } from "../shape.ts";
import { launchFlat } from "./launch.ts";
import { stridedParams } from "./strided.ts";
import { collapseDims } from "./collapse.ts";

function requireFloat(op: string, ...tensors: Tensor[]): void {
  for (const t of tensors) {
    if (t.dtype !== "float32") throw new Error(`${op}: expects float32 tensors, got ${t.dtype} [${t.shape}]`);
  }
}

export function unaryKernel(op: UnaryOp, x: Tensor): Tensor {
  requireFloat(op, x);
  const out = engine.allocate(op, x.shape);
  launchFlat("unary", "main", new Params().u32(x.size).build(), [x, out], x.size, { OP: UNARY_OPS.indexOf(op) });
  return out;
}

export function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  requireFloat(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = engine.allocate(op, shape);
  const plain = sameShape(a.shape, shape) && sameShape(b.shape, shape);
  const dims = collapseDims(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const params = stridedParams(out.size, dims.shape, dims.strides);
  launchFlat("binary", "main", params, [a, b, out], out.size, {
    OP: BINARY_OPS.indexOf(op),
    BROADCAST: plain ? 0 : 1,
  });
  return out;
}

export function whereKernel(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  requireFloat("where", cond, a, b);
  const shape = broadcastShapes("where", cond.shape, a.shape, b.shape);
  const out = engine.allocate("where", shape);
  const dims = collapseDims(shape, [cond, a, b].map((t) => broadcastStrides(t.shape, shape)));
  launchFlat("where", "main", stridedParams(out.size, dims.shape, dims.strides), [cond, a, b, out], out.size);
  return out;
}

export function castKernel(x: Tensor, dtype: "float32" | "int32"): Tensor {
  const out = engine.allocate("cast", x.shape, dtype);
  if (x.dtype === dtype) {
    launchFlat("movement", "strided_copy", stridedParams(x.size, [x.size], [[1]]), [x, out], x.size);
    return out;
  }
  const entry = dtype === "int32" ? "f32_to_i32" : "i32_to_f32";
  launchFlat("cast", entry, new Params().u32(x.size).build(), [x, out], x.size);
  return out;
}
