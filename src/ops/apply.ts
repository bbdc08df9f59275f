/** Runs one primitive: checks its inputs, launches its kernel, and records it on active tapes. */
import { engine } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import type { Primitive, PrimitiveAttrs } from "../primitive.ts";
import { IMPLS } from "./impls.ts";

export function apply<P extends Primitive>(primitive: P, inputs: Tensor[], attrs: PrimitiveAttrs[P]): Tensor {
  for (const t of inputs) t.assertAlive(primitive);
  const profiler = engine.backend.profiler;
  profiler?.enterPrimitive(primitive);
  const output = IMPLS[primitive](inputs, attrs);
  profiler?.leavePrimitive(output.size * 4);
  for (const recorder of engine.recorders) recorder.maybeRecord({ primitive, inputs, attrs, output });
  return output;
}
