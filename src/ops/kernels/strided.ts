/** The parameter block and overrides of shaders/lib/strided.wgsl, shared by binary, where and the strided copies. */
import { Params } from "../../backend/params.ts";
import type { Shape } from "../../tensor.ts";

/** Below this many output elements every index is exact in float32, so the kernels divide in floats. */
const FLOAT_DIVISION_LIMIT = 2 ** 24;

export interface StridedLaunch {
  params: Uint32Array;
  constants: Record<string, number>;
}

/**
 * `size` output elements of `shape`; operand k is read at `operandStrides[k]` (at most four, one
 * lane each), operand 0 from `offset` on.
 */
export function stridedLaunch(size: number, shape: Shape, operandStrides: readonly (readonly number[])[], offset = 0): StridedLaunch {
  if (operandStrides.length > 4) throw new Error(`strided kernels take at most 4 operands, got ${operandStrides.length}`);
  // Two zero words after offset: the uniform block's arrays start 16-byte aligned.
  const params = new Params().u32(size).u32(offset).u32(0).u32(0).dims(shape);
  for (let d = 0; d < 8; d++) for (let k = 0; k < 4; k++) params.u32(operandStrides[k]?.[d] ?? 0);
  for (let d = 0; d < 8; d++) params.f32(d < shape.length ? 1 / shape[d] : 0);
  return { params: params.build(), constants: { RANK: shape.length, FLOAT_DIVISION: size < FLOAT_DIVISION_LIMIT ? 1 : 0 } };
}
