/** The parameter block of shaders/lib/strided.wgsl, shared by binary, where and the strided copies. */
import { Params } from "../../backend/params.ts";
import type { Shape } from "../../tensor.ts";

/**
 * `size` output elements of `shape`; operand k is read at `operandStrides[k]` (at most four, one
 * lane each), operand 0 from `offset` on.
 */
export function stridedParams(size: number, shape: Shape, operandStrides: readonly (readonly number[])[], offset = 0): Uint32Array {
  if (operandStrides.length > 4) throw new Error(`strided kernels take at most 4 operands, got ${operandStrides.length}`);
  const params = new Params().u32(size).u32(shape.length).u32(offset).u32(0).dims(shape);
  for (let d = 0; d < 8; d++) for (let k = 0; k < 4; k++) params.u32(operandStrides[k]?.[d] ?? 0);
  return params.build();
}
