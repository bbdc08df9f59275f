// Every primitive is checked by the op-spec table: each row is run (forward, and differentiated to
// the order it is checked at) while a recorder notes the primitives the engine applies.
import * as h from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import { IMPLS } from "../../src/ops/impls.ts";
import { assert, test } from "../harness.ts";
import { gpuOps } from "./spec.ts";
import { CORE_SPECS } from "./specs/core.ts";
import { BLUR_SPECS } from "./specs/blur.ts";
import { BATCH_NORM_SPECS } from "./specs/batch_norm.ts";
import { FUSED_RELU_SPECS } from "./specs/fused_relu.ts";
import { REDUCE_SPECS } from "./specs/reduce.ts";
import { ADD_N_SPECS } from "./specs/add_n.ts";

test("every primitive has a row in the op-spec table", async () => {
  await h.init();
  const seen = new Set<string>();
  engine.recorders.push({ maybeRecord: (node) => seen.add(node.primitive) });
  try {
    for (const spec of [...CORE_SPECS, ...BLUR_SPECS, ...BATCH_NORM_SPECS, ...FUSED_RELU_SPECS, ...REDUCE_SPECS, ...ADD_N_SPECS]) {
      h.tidy(() => {
        // Small inputs: which primitives run does not depend on the values.
        const inputs = spec.inputs.map(({ shape }) => h.ones(shape));
        if ((spec.order ?? 2) === 0) return spec.fn(gpuOps, ...inputs);
        const gradient = h.grad((xs: h.Tensor[]) => h.sum(spec.fn(gpuOps, ...xs)));
        if (spec.order === 1) return gradient(inputs);
        return h.grad((xs: h.Tensor[]) => gradient(xs).map((g) => h.sum(h.mul(g, g))).reduce((a, b) => h.add(a, b)))(inputs);
      });
    }
  } finally {
    engine.recorders.pop();
  }
  const missing = Object.keys(IMPLS).filter((primitive) => !seen.has(primitive));
  assert(missing.length === 0, `primitives with no row in the op-spec table (test/ops/specs/): ${missing.join(", ")}`);
});
