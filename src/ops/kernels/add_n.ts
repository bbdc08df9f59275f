/** Launcher of addN: 2..ADD_N_MAX_OPERANDS float32 operands of one shape summed left to right in one pass. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { sameShape, type Tensor } from "../../tensor.ts";
import { shapeString } from "../shape.ts";
import { launchFlat } from "./launch.ts";

/** Operands one addN dispatch reads: params, six operands and the output fill the 8 storage buffers every device has. */
export const ADD_N_MAX_OPERANDS = 6;

export function addNKernel(operands: Tensor[]): Tensor {
  const [first] = operands;
  if (operands.length < 2 || operands.length > ADD_N_MAX_OPERANDS) {
    throw new Error(`addN: takes 2 to ${ADD_N_MAX_OPERANDS} operands, got ${operands.length}`);
  }
  for (const x of operands) {
    if (x.dtype !== "float32" || !sameShape(x.shape, first.shape)) {
      throw new Error(
        `addN: expects float32 operands of one shape, got ${operands.map((t) => `${t.dtype} ${shapeString(t.shape)}`).join(", ")}`,
      );
    }
  }
  const out = engine.allocate("addN", first.shape);
  const vec4 = out.size % 4 === 0;
  const threads = vec4 ? out.size / 4 : out.size;
  // Unused operand bindings hold x0 again (read-only aliasing is allowed); COUNT keeps them unread.
  const bound = Array.from({ length: ADD_N_MAX_OPERANDS }, (_, j) => operands[j] ?? first);
  launchFlat("add_n", vec4 ? "main_vec4" : "main", new Params().u32(threads).build(), [...bound, out], threads, {
    COUNT: operands.length,
  });
  return out;
}
