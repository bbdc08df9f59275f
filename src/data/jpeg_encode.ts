// JPEG encoding for the writer and the embedded dataset: jpeg-js is pure JavaScript, so shards can
// be made the same way in Deno, a browser page and a worker, with nothing to load first.

import jpegJs from "jpeg-js";

/** Encodes interleaved RGB (3 channels) or gray (1 channel, stored as equal RGB) bytes. */
export function encodeJpeg(pixels: Uint8Array, width: number, height: number, channels: 1 | 3, quality = 90): Uint8Array {
  if (pixels.length !== width * height * channels) {
    throw new Error(`encodeJpeg: ${pixels.length} bytes for ${width}×${height}×${channels}`);
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba[4 * p] = pixels[p * channels];
    rgba[4 * p + 1] = pixels[p * channels + (channels === 3 ? 1 : 0)];
    rgba[4 * p + 2] = pixels[p * channels + (channels === 3 ? 2 : 0)];
    rgba[4 * p + 3] = 255;
  }
  return new Uint8Array(jpegJs.encode({ data: rgba, width, height }, quality).data);
}
