import { assert, assertClose, assertEquals, readRepoFile, test } from "../harness.ts";
import {
  flipHorizontal,
  gaussianBlur,
  preprocessHeatmap,
  preprocessImage,
  resizeBilinear,
} from "../../src/data/preprocess.ts";
import { gaussianTaps } from "../../src/ops/gaussian.ts";

interface Entry {
  file: string;
  dtype: string;
  shape: number[];
}

const manifest = JSON.parse(new TextDecoder().decode(await readRepoFile("test/fixtures/data/preprocess.json")));

async function fixture(name: string): Promise<Float64Array | Float32Array | Uint8Array> {
  const entry: Entry = manifest[name];
  const bytes = await readRepoFile(`test/fixtures/data/${entry.file}`);
  const buffer = bytes.slice().buffer;
  if (entry.dtype === "uint8") return new Uint8Array(buffer);
  if (entry.dtype === "float32") return new Float32Array(buffer);
  return new Float64Array(buffer);
}

test("data/preprocess: TF2 half-pixel bilinear by hand (2→4 up, 4→2 down, edges clamped)", () => {
  // Up: source coordinate (o + 0.5)·0.5 − 0.5 = −0.25, 0.25, 0.75, 1.25 → clamped at both ends.
  assertClose(resizeBilinear(new Float32Array([0, 10]), 1, 2, 1, 4), [0, 2.5, 7.5, 10]);
  // Down by 2: source coordinates 0.5 and 2.5 → the mean of each pair.
  assertClose(resizeBilinear(new Float32Array([0, 2, 4, 8]), 1, 4, 1, 2), [1, 6]);
  // Identity when sizes match.
  assertClose(resizeBilinear(new Float32Array([1, 2, 3, 4]), 2, 2, 2, 2), [1, 2, 3, 4]);
});

test("data/preprocess: image resize and normalisation match the float64 PyTorch reference", async () => {
  const input = (await fixture("image_in")) as Uint8Array;
  const image = { width: 48, height: 48, channels: 3 as const, data: input };
  const raw = preprocessImage(image, { size: 42, blurSize: 64, normalize: false });
  assertClose(raw, await fixture("image_resized"), { rtol: 1e-6, atol: 1e-4 }, "resized");
  const normalized = preprocessImage(image, { size: 42, blurSize: 64, normalize: true });
  assertClose(normalized, await fixture("image_normalized"), { rtol: 1e-6, atol: 1e-5 }, "normalized");
});

test("data/preprocess: blur kernel is the reference's (x = −5..4 across, y = 4..−5 down)", async () => {
  const expected = await fixture("kernel");
  const { rows, cols } = gaussianTaps();
  const kernel = new Float64Array(100);
  for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) kernel[i * 10 + j] = rows[i] * cols[j];
  assertClose(kernel, expected, { rtol: 1e-12, atol: 1e-15 });
  assertClose([kernel.reduce((a, b) => a + b, 0)], [1], { atol: 1e-12 });
});

test("data/preprocess: heatmap resize → 10×10 σ=10 SAME blur at 64 → resize matches the reference", async () => {
  const input = (await fixture("heatmap_in")) as Uint8Array;
  const small = resizeBilinear(Float32Array.from(input), 96, 96, 64, 64);
  assertClose(gaussianBlur(small, 64, 64), await fixture("heatmap_blurred64"), { rtol: 1e-6, atol: 1e-4 }, "blurred");
  const out = preprocessHeatmap({ width: 96, height: 96, channels: 1, data: input }, { size: 112, blurSize: 64, normalize: true });
  assertClose(out, await fixture("heatmap_out"), { rtol: 1e-6, atol: 1e-4 }, "pipeline");
});

test("data/preprocess: crop window resize matches resizing the cropped plane", async () => {
  const plane = (await fixture("crop_in")) as Float32Array;
  assertClose(resizeBilinear(plane, 42, 42, 42, 42, manifest.crop_box), await fixture("crop_out"), { rtol: 1e-6, atol: 1e-4 });
});

test("data/preprocess: the same flip applies to image and map", () => {
  const rgb = new Uint8Array(4 * 4 * 3).map((_, i) => (i * 37) % 256);
  const gray = new Uint8Array(16).map((_, i) => i * 10);
  const options = { size: 4, blurSize: 4, normalize: false };
  const image = preprocessImage({ width: 4, height: 4, channels: 3, data: rgb }, options, { flip: true });
  const plain = preprocessImage({ width: 4, height: 4, channels: 3, data: rgb }, options);
  for (let c = 0; c < 3; c++) {
    assertClose(image.subarray(c * 16, c * 16 + 16), flipHorizontal(plain.subarray(c * 16, c * 16 + 16), 4, 4));
  }
  const map = preprocessHeatmap({ width: 4, height: 4, channels: 1, data: gray }, options, { flip: true });
  const plainMap = preprocessHeatmap({ width: 4, height: 4, channels: 1, data: gray }, options);
  assertClose(map, flipHorizontal(plainMap, 4, 4));
  assertEquals(map.length, 16);
  assert(map[0] !== map[3], "map is not symmetric, so the flip is visible");
});
