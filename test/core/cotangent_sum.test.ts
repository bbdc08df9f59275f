/**
 * backward() sums a tensor's cotangent contributions in one addN (src/ops/add_n.ts) when the kernel
 * policy's cotangentSum is "addN": the sum keeps the order of adding each as it arrives ("chain"), so
 * gradients, and gradients of gradients, are the same bits either way, and nothing is left behind.
 */
import * as h from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import type { CotangentSumVariant } from "../../src/backend/kernel_policy.ts";
import { addN } from "../../src/ops/add_n.ts";
import { assertEquals, test } from "../harness.ts";
import { recordedGradients } from "../support/recorded_gradients.ts";

/** x gets four contributions (two from x·x, one through tanh, one through exp), w two. */
function loss([x, w]: h.Tensor[]): h.Tensor {
  return h.sum(h.add(h.mul(h.mul(h.mul(x, x), h.tanh(x)), w), h.mul(h.exp(x), w)));
}

async function gradients(variant: CotangentSumVariant, x: h.Tensor, w: h.Tensor): Promise<Float32Array[]> {
  const previous = engine.backend.kernels.variants.cotangentSum;
  engine.backend.setKernelVariant("cotangentSum", variant);
  try {
    const { values, primitives } = await recordedGradients(loss, [x, w], 0, variant);
    assertEquals(primitives.has("addN"), variant === "addN", `addN ran (${variant})`);
    return values;
  } finally {
    engine.backend.setKernelVariant("cotangentSum", previous);
  }
}

test("addN is the left-to-right chain of adds, bit for bit, for 2 to 9 operands in vec4s and scalars", async () => {
  await h.init();
  for (const size of [4096, 1001]) {
    for (let count = 2; count <= 9; count++) {
      const [sum, chain] = h.tidy(() => {
        const xs = Array.from({ length: count }, (_, i) => h.mul(h.randomNormal([size], { seed: 10 * count + i }), 10 ** (i % 4)));
        return [addN(xs), xs.reduce((total, x) => h.add(total, x))];
      });
      assertEquals(await sum.data(), await chain.data(), `${count} operands of size ${size}`);
      h.dispose([sum, chain]);
    }
  }
});

test("backward's addN sums give the chain's gradients and second-order gradients bit for bit, and free every contribution", async () => {
  await h.init();
  const x = h.randomNormal([2, 4, 130], { seed: 3 });
  const w = h.randomNormal([2, 4, 130], { seed: 4 });
  const summed = await gradients("addN", x, w);
  const chained = await gradients("chain", x, w);
  for (const [i, values] of summed.entries()) assertEquals(values, chained[i], `gradient ${i}`);
  h.dispose([x, w]);
});
