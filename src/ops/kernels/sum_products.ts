/** Launcher of sumProducts: column sums of Σᵢ aᵢ⊙bᵢ over [rows, cols] operands, in one pass. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { sameShape, type Tensor } from "../../tensor.ts";
import { shapeString } from "../shape.ts";

/** Pairs one dispatch reads: params, six operands and the output fill the 8 storage buffers every device has. */
export const SUM_PRODUCTS_MAX_TERMS = 3;
/** Rows one thread loops over, below lavapipe's 65 535 loop iterations per invocation. */
export const SUM_PRODUCTS_MAX_ROWS = 60000;

export function sumProductsKernel(operands: Tensor[]): Tensor {
  const [first] = operands;
  const terms = operands.length / 2;
  const describe = () => operands.map((t) => `${t.dtype} ${shapeString(t.shape)}`).join(", ");
  if (!Number.isInteger(terms) || terms < 1 || terms > SUM_PRODUCTS_MAX_TERMS) {
    throw new Error(`sumProducts: takes 1 to ${SUM_PRODUCTS_MAX_TERMS} pairs of operands, got ${describe()}`);
  }
  if (first.rank !== 2 || operands.some((x) => x.dtype !== "float32" || !sameShape(x.shape, first.shape))) {
    throw new Error(`sumProducts: expects float32 [rows, cols] operands of one shape, got ${describe()}`);
  }
  const [rows, cols] = first.shape;
  if (rows > SUM_PRODUCTS_MAX_ROWS) throw new Error(`sumProducts: at most ${SUM_PRODUCTS_MAX_ROWS} rows, got ${describe()}`);
  const out = engine.allocate("sumProducts", [cols]);
  if (cols === 0) return out;
  const bound = Array.from({ length: 2 * SUM_PRODUCTS_MAX_TERMS }, (_, j) => operands[j] ?? operands[j % 2]);
  engine.backend.dispatch({
    shader: "sum_products",
    entry: "main",
    params: new Params().u32(rows).u32(cols).u32(terms).build(),
    buffers: [...bound, out].map((t) => t.buffer),
    workgroups: [Math.ceil(cols / 64)],
  });
  return out;
}
