/** The report's PNG writer: valid chunks and CRCs, exact pixels after inflating, clear errors. */
import { crc32, encodePng, pngDataUrl } from "../../src/io/png.ts";
import { assertEquals, assertRejects, test } from "../harness.ts";
import { decodePng, decodePngDataUrl } from "./png_reader.ts";

test("png: crc32 is the ISO 3309 checksum", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assertEquals(crc32(new Uint8Array(0)), 0);
});

test("png: gray, RGB and RGBA images decode back to the same pixels", async () => {
  for (const channels of [1, 3, 4] as const) {
    const [width, height] = [5, 3];
    const data = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37 + channels) % 256);
    const decoded = await decodePng(await encodePng({ width, height, channels, data }));
    assertEquals([decoded.width, decoded.height, decoded.channels], [width, height, channels], `${channels} channels`);
    assertEquals([...decoded.pixels], [...data], `${channels} channels`);
  }
});

test("png: a data URL carries the image", async () => {
  const data = Uint8Array.from({ length: 64 * 48 * 3 }, (_, i) => i % 251);
  const url = await pngDataUrl({ width: 64, height: 48, channels: 3, data });
  const decoded = await decodePngDataUrl(url);
  assertEquals([decoded.width, decoded.height], [64, 48]);
  assertEquals([...decoded.pixels], [...data]);
});

test("png: wrong sizes are refused with the numbers", async () => {
  await assertRejects(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }), /11 bytes for a 2×2 image of 3 channels \(needs 12\)/);
  await assertRejects(() => encodePng({ width: 0, height: 2, channels: 1, data: new Uint8Array(0) }), /not a positive integer size/);
});
