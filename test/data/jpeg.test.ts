import { assert, assertEquals, assertRejects, assertThrows, readRepoFile, test } from "../harness.ts";
import { assertJpeg, jpegDecoder, jpegInfo } from "../../src/data/jpeg.ts";
import { encodeJpeg } from "../../src/data/jpeg_encode.ts";

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

test("data/jpeg: encode → decode keeps RGB and gray pixels within JPEG error", async () => {
  const size = 32;
  const rgb = new Uint8Array(size * size * 3).map((_, i) => (Math.floor(i / 3) % size) * 8 + (i % 3) * 20);
  const decode = await jpegDecoder();
  const decoded = await decode(encodeJpeg(rgb, size, size, 3, 95), 3);
  assertEquals([decoded.width, decoded.height, decoded.channels], [size, size, 3]);
  assert(meanAbsDiff(decoded.data, rgb) < 3, `RGB error ${meanAbsDiff(decoded.data, rgb)}`);
  const gray = new Uint8Array(size * size).map((_, i) => (i % size) * 8);
  const grayDecoded = await decode(encodeJpeg(gray, size, size, 1, 95), 1);
  assertEquals(grayDecoded.channels, 1);
  assert(meanAbsDiff(grayDecoded.data, gray) < 3, `gray error ${meanAbsDiff(grayDecoded.data, gray)}`);
});

test("data/jpeg: a one-component (grayscale) JPEG decodes like libjpeg does", async () => {
  const bytes = await readRepoFile("test/fixtures/data/gray.jpg");
  const expected = await readRepoFile("test/fixtures/data/gray_decoded.bin");
  const info = jpegInfo(bytes);
  assertEquals([info.width, info.height, info.components], [96, 96, 1]);
  const decoded = await (await jpegDecoder())(bytes, 1);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(decoded.data[i] - expected[i]));
  assert(worst <= 2, `max difference to libjpeg ${worst}`);
});

test("data/jpeg: non-JPEG and corrupt bytes are named errors", async () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
  assertThrows(() => assertJpeg(png), /not a JPEG \(10 bytes starting with 89 50 4e 47 0d 0a 1a 0a\)/);
  const decode = await jpegDecoder();
  await assertRejects(() => decode(png, 3), /not a JPEG/);
  await assertRejects(() => decode(new Uint8Array(0), 3), /not a JPEG \(0 bytes starting with nothing\)/);
  const truncated = encodeJpeg(new Uint8Array(16 * 16 * 3).fill(128), 16, 16, 3).subarray(0, 40);
  await assertRejects(() => decode(truncated, 3), /corrupt JPEG/);
});

test("data/jpeg: a forged frame header is refused before the decoder allocates for it (found by test/fuzz)", async () => {
  const decode = await jpegDecoder();
  const jpeg = encodeJpeg(new Uint8Array(16 * 16 * 3).fill(90), 16, 16, 3);
  const forged = (h: number, w: number) => {
    const out = jpeg.slice();
    const sof = out.findIndex((b, i) => b === 0xff && out[i + 1] === 0xc0);
    out[sof + 5] = h >> 8, out[sof + 6] = h & 0xff, out[sof + 7] = w >> 8, out[sof + 8] = w & 0xff;
    return out;
  };
  await assertRejects(() => decode(forged(65535, 65535), 3), /JPEG is 65535×65535, over the 67108864-pixel limit/);
  await assertRejects(() => decode(forged(0, 16), 3), /corrupt JPEG: frame header says 16×0/);
});

test("data/jpeg: hundreds of damaged JPEGs in a row leave the decoder working (found by bench/fuzz)", async () => {
  // Before: libjpeg's error exit left the WebAssembly instance aborted after ~100 failures, and
  // every later JPEG, valid or not, failed: a long run under --skip-corrupt would have skipped the rest.
  const decode = await jpegDecoder();
  const good = encodeJpeg(new Uint8Array(16 * 16 * 3).fill(100), 16, 16, 3);
  const bad = good.slice();
  const dht = bad.findIndex((b, i) => b === 0xff && bad[i + 1] === 0xc4);
  bad.fill(0xff, dht + 5, dht + 21); // Huffman code counts that no table can have
  for (let i = 0; i < 300; i++) await assertRejects(() => decode(bad, 3), /corrupt JPEG/);
  const decoded = await decode(good, 3);
  assertEquals([decoded.width, decoded.height], [16, 16]);
  assert(meanAbsDiff(decoded.data, new Uint8Array(16 * 16 * 3).fill(100)) < 2, "pixels after the failures");
});

test("data/jpeg: a truncated JPEG is refused in every runtime (Chromium decoded it, gray below the cut: found by test/fuzz)", async () => {
  const decode = await jpegDecoder();
  const jpeg = encodeJpeg(new Uint8Array(32 * 32 * 3).map((_, i) => i & 0xff), 32, 32, 3);
  for (const cut of [jpeg.length - 2, jpeg.length - 100, Math.floor(jpeg.length / 2)]) {
    await assertRejects(() => decode(jpeg.subarray(0, cut), 3), /corrupt JPEG: no end-of-image marker after the scan \(truncated\?\)/);
  }
  const whole = await decode(jpeg, 3);
  assertEquals([whole.width, whole.height], [32, 32]);
});
