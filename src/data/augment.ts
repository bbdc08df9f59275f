// Inception-style random resized crop and horizontal flip, drawn once per sample and applied to
// the image and its map alike (preprocess.ts), so the map keeps pointing at the same pixels.

import type { Augmentation, CropBox } from "./preprocess.ts";
import type { Random } from "./random.ts";

export interface AugmentOptions {
  /** Range of the crop's area as a fraction of the image (Inception: 0.08..1). */
  scale: [number, number];
  /** Range of the crop's aspect ratio width/height, sampled log-uniformly (Inception: 3/4..4/3). */
  ratio: [number, number];
  flip: boolean;
}

export const INCEPTION_AUGMENT: AugmentOptions = { scale: [0.08, 1], ratio: [3 / 4, 4 / 3], flip: true };

/** torchvision's RandomResizedCrop box sampling: 10 tries, then the whole (square) image. */
export function sampleCrop(size: number, random: Random, options: AugmentOptions): CropBox {
  const area = size * size;
  const [logLo, logHi] = [Math.log(options.ratio[0]), Math.log(options.ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * random.uniform(options.scale[0], options.scale[1]);
    const aspect = Math.exp(random.uniform(logLo, logHi));
    const width = Math.round(Math.sqrt(target * aspect));
    const height = Math.round(Math.sqrt(target / aspect));
    if (width > 0 && height > 0 && width <= size && height <= size) {
      return { top: random.int(size - height + 1), left: random.int(size - width + 1), height, width };
    }
  }
  return { top: 0, left: 0, height: size, width: size };
}

export function sampleAugmentation(size: number, random: Random, options: AugmentOptions = INCEPTION_AUGMENT): Augmentation {
  const crop = sampleCrop(size, random, options);
  return { crop, flip: options.flip && random.next() < 0.5 };
}
