// Fuzz target: JPEG decoding of an image and its map through the sample pipeline (decode, resize,
// blur, augment), with this runtime's decoder. Valid pairs include maps whose size differs from
// the image; mutations damage bytes, truncate, forge the frame header (0×0, 65535×65535), swap
// image and map. A result must have the shapes of the options and finite values; an error must
// name the feature. A flipped bit inside entropy-coded data can decode to other pixels without any
// decoder noticing: the record's CRC is what guards those, so unmutated inputs are also compared
// with a clean decode.

import { type JpegDecoder, jpegDecoder } from "../../src/data/jpeg.ts";
import { encodeJpeg } from "../../src/data/jpeg_encode.ts";
import { processSample } from "../../src/data/process_sample.ts";
import type { Random } from "../../src/data/random.ts";
import { check, type FuzzTarget, mutateBytes, namedError, pick } from "./fuzz.ts";

const SIZES: [number, number][] = [[16, 16], [24, 40], [33, 17], [8, 64]];
let pairs: { image: Uint8Array; heatmap: Uint8Array; imageSize: [number, number]; mapSize: [number, number] }[] = [];
let decode: JpegDecoder;

/** Rewrites the height and width of the SOF0 frame header. */
function forgeFrame(bytes: Uint8Array, height: number, width: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 2; i + 9 < out.length; i++) {
    if (out[i] === 0xff && out[i + 1] === 0xc0) {
      out[i + 5] = height >> 8, out[i + 6] = height & 0xff, out[i + 7] = width >> 8, out[i + 8] = width & 0xff;
      break;
    }
  }
  return out;
}

function mutate(random: Random, bytes: Uint8Array): Uint8Array {
  switch (random.int(4)) {
    case 0: {
      const [h, w] = pick(random, [[0, 16], [16, 0], [65535, 65535], [1, 65535], [8192, 8193], [17, 16], [2, 2]]);
      return forgeFrame(bytes, h, w);
    }
    case 1:
      return bytes.slice(0, random.int(bytes.length));
    default:
      return mutateBytes(random, bytes);
  }
}

export const jpegTarget: FuzzTarget = {
  name: "jpeg",
  async setup() {
    if (pairs.length > 0) return;
    decode = await jpegDecoder();
    pairs = SIZES.flatMap(([h, w], i) => {
      const [mh, mw] = SIZES[(i + 1) % SIZES.length];
      const image = encodeJpeg(new Uint8Array(h * w * 3).map((_, k) => (k * 37 + i * 11) & 0xff), w, h, 3);
      const heatmap = encodeJpeg(new Uint8Array(mh * mw).map((_, k) => (k * 5) & 0xff), mw, mh, 1);
      return [{ image, heatmap, imageSize: [h, w] as [number, number], mapSize: [mh, mw] as [number, number] }];
    });
  },
  async one(random, iteration) {
    const pair = pick(random, pairs);
    let { image, heatmap } = pair;
    const what = random.int(5);
    if (what === 0) image = mutate(random, image);
    else if (what === 1) heatmap = mutate(random, heatmap);
    else if (what === 2) [image, heatmap] = [heatmap, image];
    const size = pick(random, [8, 16, 20]);
    const options = { size, blurSize: pick(random, [4, 8, 16]), normalize: random.int(2) === 0 };
    const augmentation = random.int(2) ? { crop: { top: 1, left: 2, height: size - 3, width: size - 2 }, flip: random.int(2) === 0 } : undefined;
    const label = `jpeg input ${iteration} (${["image mutated", "map mutated", "swapped", "valid", "valid"][what]})`;
    let sample;
    try {
      sample = await processSample({ image, heatmap, options, augmentation }, decode);
    } catch (e) {
      // A swapped pair is still two valid JPEGs: a gray image decodes as RGB and an RGB map as gray.
      check(what < 2, `${label}: valid JPEGs refused: ${e}`);
      return namedError(e, /^feature '(image|heatmap)': (not a JPEG|corrupt JPEG|JPEG is \d+×\d+, over)/, label);
    }
    check(sample.image.length === 3 * size * size && sample.heatmap.length === size * size, `${label}: output shapes ${sample.image.length}, ${sample.heatmap.length} for size ${size}`);
    check(sample.image.every(Number.isFinite) && sample.heatmap.every(Number.isFinite), `${label}: non-finite output`);
    if (what >= 3) {
      const clean = await decode(pair.image, 3);
      check(clean.height === pair.imageSize[0] && clean.width === pair.imageSize[1], `${label}: image decoded as ${clean.height}×${clean.width}`);
      const map = await decode(pair.heatmap, 1);
      check(map.height === pair.mapSize[0] && map.width === pair.mapSize[1], `${label}: map decoded as ${map.height}×${map.width}`);
    }
    return { ok: true };
  },
};
