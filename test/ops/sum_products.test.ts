/**
 * sumProducts against float64 past one workgroup of columns, and grad() summing a per-column
 * factor's cotangents from two broadcast multiplies (layer norm's γ in a harmonized step) with it.
 */
import * as h from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import { sumProducts } from "../../src/ops/sum_products.ts";
import { assertClose, assertEquals, test } from "../harness.ts";
import { Ref, ref } from "../support/reference.ts";
import { seededValues } from "../support/random.ts";
import { recordedGradients } from "../support/recorded_gradients.ts";

test("sumProducts: column sums of two products over 70 rows and 130 columns match float64", async () => {
  await h.init();
  const shape = [7, 10, 130];
  const values = [0, 1, 2, 3].map((seed) => seededValues(7 * 10 * 130, 40 + seed));
  const inputs = values.map((v) => h.tensor(v, shape));
  const out = sumProducts([[inputs[0], inputs[1]], [inputs[2], inputs[3]]]);
  const refs = values.map((v) => new Ref(shape, Float64Array.from(v)));
  const expected = ref.add(ref.sum(ref.mul(refs[0], refs[1]), [0, 1]), ref.sum(ref.mul(refs[2], refs[3]), [0, 1]));
  assertEquals([...out.shape], [130], "shape");
  assertClose(await out.floats(), expected.data, { rtol: 1e-5, atol: 1e-5 }, "column sums");
  h.dispose([out, ...inputs]);
});

/** γ scales x and, after tanh, the result again: two broadcast multiplies read it. */
const loss = ([x, gamma]: h.Tensor[]) => h.sum(h.square(h.mul(h.tanh(h.mul(x, gamma)), gamma)));

test("grad: a per-column factor's two multiply cotangents are one sumProducts, at every order, and nothing is left", async () => {
  await h.init();
  const x = h.randomNormal([6, 5, 8], { seed: 7 });
  const gamma = h.randomNormal([8], { seed: 8 });
  const results: Record<string, Float32Array[]> = {};
  const previous = engine.backend.kernels.variants.cotangentSum;
  try {
    // "chain" computes every cotangent as it arrives: the rule's own mul and column sum.
    for (const variant of ["addN", "chain"] as const) {
      engine.backend.setKernelVariant("cotangentSum", variant);
      const { values, primitives } = await recordedGradients(loss, [x, gamma], 1, variant);
      assertEquals(primitives.has("sumProducts"), variant === "addN", `sumProducts ran (${variant})`);
      results[variant] = values;
    }
    for (const [i, g] of results.addN.entries()) {
      assertClose(g, results.chain[i], { rtol: 1e-5, atol: 1e-5 }, `gradient ${i}: one sumProducts vs one at a time`);
    }
  } finally {
    engine.backend.setKernelVariant("cotangentSum", previous);
    h.dispose([x, gamma]);
  }
});
