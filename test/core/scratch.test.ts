import * as h from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import { Backend } from "../../src/backend/backend.ts";
import { assertClose, test } from "../harness.ts";

test("conv and matmul stay correct when the staging-texture cache is emptied within an op", async () => {
  const shared = await h.init();
  // A backend whose scratch cache holds almost nothing: every op's second texture empties it.
  const tiny = await Backend.create({ scratchLimitBytes: 1024, kernels: { matmul: "textures", conv: "textures" } });
  const run = async () => {
    const x = h.tensor(Float32Array.from({ length: 2 * 3 * 9 * 9 }, (_, i) => Math.sin(i)), [2, 3, 9, 9]);
    const w = h.tensor(Float32Array.from({ length: 4 * 3 * 3 * 3 }, (_, i) => Math.cos(i)), [4, 3, 3, 3]);
    const a = h.tensor(Float32Array.from({ length: 70 * 65 }, (_, i) => Math.sin(0.1 * i)), [70, 65]);
    const [y, gw, m] = [h.conv2d(x, w, { padding: 1, stride: 2 }), h.grad((v: h.Tensor) => h.sum(h.conv2d(x, v, { padding: 1 })))(w), h.matmul(a, a, { transB: true })];
    const out = await Promise.all([y.data(), gw.data(), m.data()]);
    h.dispose([x, w, a, y, gw, m]);
    return out;
  };
  const expected = await run();
  engine.setBackend(tiny);
  try {
    const actual = await run();
    actual.forEach((values, i) => assertClose(values, expected[i], { rtol: 1e-5, atol: 1e-5 }, `output ${i}`));
  } finally {
    engine.setBackend(shared);
    tiny.destroy();
  }
});
