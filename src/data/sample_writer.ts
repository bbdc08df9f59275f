// From pixels to a serialized ClickMe Example: the writer's entry for images, maps and labels.

import { encodeSample } from "./clickme_record.ts";
import { encodeJpeg } from "./jpeg_encode.ts";

export interface Pixels {
  width: number;
  height: number;
  /** Interleaved HWC bytes: RGB for images, one channel for maps. */
  data: Uint8Array;
}

export interface PixelSample {
  image: Pixels;
  /** Omit for a plain labelled image. */
  heatmap?: Pixels;
  label: number;
}

function channelsOf(pixels: Pixels, what: string, expected: 1 | 3): 1 | 3 {
  const channels = pixels.data.length / (pixels.width * pixels.height);
  if (channels !== expected) {
    throw new Error(`${what}: ${pixels.data.length} bytes for ${pixels.width}×${pixels.height} is not ${expected} channel(s)`);
  }
  return expected;
}

/** JPEG-encodes image (RGB) and map (gray) and serializes them with the label as a tf.train.Example. */
export function encodePixelSample(sample: PixelSample, quality = 90): Uint8Array {
  const { image, heatmap } = sample;
  if (!Number.isInteger(sample.label)) throw new Error(`label must be an integer, got ${sample.label}`);
  return encodeSample({
    image: encodeJpeg(image.data, image.width, image.height, channelsOf(image, "image", 3), quality),
    heatmap: heatmap
      ? encodeJpeg(heatmap.data, heatmap.width, heatmap.height, channelsOf(heatmap, "heatmap", 1), quality)
      : undefined,
    label: sample.label,
  });
}
