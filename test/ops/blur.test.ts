import * as h from "../../src/mod.ts";
import { gaussianBlur } from "../../src/data/preprocess.ts";
import { assertClose, assertEquals, test } from "../harness.ts";

/** Direct 2-D definition of the pyramid step (docs/harmonization.md §1.6) in float64, for odd and even sizes. */
function binomialDownsampleRef(x: Float64Array, n: number, hIn: number, wIn: number): { data: Float64Array; h: number; w: number } {
  const b = [1, 4, 6, 4, 1];
  const same = (size: number) => {
    const out = Math.ceil(size / 2);
    const total = Math.max((out - 1) * 2 + 5 - size, 0);
    return { out, before: Math.floor(total / 2) };
  };
  const H = same(hIn);
  const W = same(wIn);
  const data = new Float64Array(n * H.out * W.out);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < H.out; i++) {
      for (let j = 0; j < W.out; j++) {
        let acc = 0;
        for (let u = 0; u < 5; u++) {
          for (let v = 0; v < 5; v++) {
            const y = i * 2 + u - H.before;
            const z = j * 2 + v - W.before;
            if (y >= 0 && y < hIn && z >= 0 && z < wIn) acc += (b[u] * b[v] / 256) * x[k * hIn * wIn + y * wIn + z];
          }
        }
        data[k * H.out * W.out + i * W.out + j] = acc;
      }
    }
  }
  return { data, h: H.out, w: W.out };
}

test("binomial pyramid step matches the 5×5 stride-2 TF-SAME definition (even and odd sizes)", async () => {
  await h.init();
  for (const [hIn, wIn] of [[8, 8], [15, 22], [7, 1], [224, 224]]) {
    const n = 2;
    const host = Float32Array.from({ length: n * hIn * wIn }, (_, i) => Math.sin(i * 0.37) + (i % 7) * 0.1);
    const expected = binomialDownsampleRef(Float64Array.from(host), n, hIn, wIn);
    const out = h.binomialDownsample(h.tensor(host, [n, hIn, wIn]));
    assertEquals([...out.shape], [n, expected.h, expected.w]);
    assertClose(await out.data(), expected.data, { rtol: 1e-5, atol: 1e-6 }, `${hIn}×${wIn}`);
    // Even sizes pad 1 before and 2 after: the first output row sees input rows 0..2 only.
  }
});

test("GPU Gaussian blur equals the data pipeline's CPU blur (10×10, σ = 10, 64×64)", async () => {
  await h.init();
  const host = Float32Array.from({ length: 64 * 64 }, (_, i) => ((i * 7919) % 255) / 255);
  const expected = gaussianBlur(host, 64, 64);
  const out = h.gaussianBlur2d(h.tensor(host, [1, 64, 64]));
  assertClose(await out.data(), expected, { rtol: 1e-5, atol: 1e-6 });
});
