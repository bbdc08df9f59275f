// CPU preprocessing of the reference ClickMe loader (docs/harmonization.md §2.4), on planar float32 maps:
//   image   → bilinear resize to S (values stay 0..255) → [augment] → normalise
//   heatmap → bilinear resize to 64 → 10×10 Gaussian blur (σ = 10, SAME) → resize to S → [augment]

import type { DecodedImage } from "./jpeg.ts";
import { BLUR_KERNEL_SIZE, BLUR_SIGMA, gaussianTaps } from "../ops/gaussian.ts";
import { tfSamePadding } from "../ops/same_padding.ts";

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** An integer crop window of a plane: rows top..top+height-1, columns left..left+width-1. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

interface Taps {
  lower: Int32Array;
  upper: Int32Array;
  lerp: Float64Array;
}

/** TensorFlow 2 bilinear taps: half-pixel centres, no antialias, indices clamped to the window. */
function bilinearTaps(inSize: number, outSize: number, start: number): Taps {
  const scale = inSize / outSize;
  const lower = new Int32Array(outSize);
  const upper = new Int32Array(outSize);
  const lerp = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const source = (o + 0.5) * scale - 0.5;
    const floor = Math.floor(source);
    lower[o] = start + Math.max(floor, 0);
    upper[o] = start + Math.min(Math.ceil(source), inSize - 1);
    lerp[o] = source - floor;
  }
  return { lower, upper, lerp };
}

/**
 * Resizes one H×W plane (or a crop of it) to outH×outW like tf.image.resize(method="bilinear").
 * `src` may be interleaved: pixel (y, x) of the plane is src[(y·W + x)·stride + channel].
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  srcH: number,
  srcW: number,
  outH: number,
  outW: number,
  box: CropBox = { top: 0, left: 0, height: srcH, width: srcW },
  stride = 1,
  channel = 0,
): Float32Array {
  const ys = bilinearTaps(box.height, outH, box.top);
  const xs = bilinearTaps(box.width, outW, box.left);
  const out = new Float32Array(outH * outW);
  for (let oy = 0; oy < outH; oy++) {
    const top = ys.lower[oy] * srcW;
    const bottom = ys.upper[oy] * srcW;
    const dy = ys.lerp[oy];
    for (let ox = 0; ox < outW; ox++) {
      const l = xs.lower[ox], u = xs.upper[ox], dx = xs.lerp[ox];
      const tl = src[(top + l) * stride + channel], tr = src[(top + u) * stride + channel];
      const bl = src[(bottom + l) * stride + channel], br = src[(bottom + u) * stride + channel];
      const upperRow = tl + (tr - tl) * dx;
      const lowerRow = bl + (br - bl) * dx;
      out[oy * outW + ox] = upperRow + (lowerRow - upperRow) * dy;
    }
  }
  return out;
}

/** conv2d with TensorFlow SAME zero padding: (size−1)/2 rounded down before, the rest after. */
export function gaussianBlur(src: Float32Array, h: number, w: number, size = BLUR_KERNEL_SIZE, sigma = BLUR_SIGMA): Float32Array {
  const { rows, cols } = gaussianTaps(size, sigma);
  const { before } = tfSamePadding(h, size, 1);
  const across = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let j = 0; j < size; j++) {
        const sx = x + j - before;
        if (sx >= 0 && sx < w) acc += cols[j] * src[y * w + sx];
      }
      across[y * w + x] = acc;
    }
  }
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let i = 0; i < size; i++) {
        const sy = y + i - before;
        if (sy >= 0 && sy < h) acc += rows[i] * across[sy * w + x];
      }
      out[y * w + x] = acc;
    }
  }
  return out;
}

export function flipHorizontal(plane: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out[y * w + x] = plane[y * w + (w - 1 - x)];
  }
  return out;
}

/** In place: x/255, minus the ImageNet mean, over the ImageNet std, for RGB plane `channel`. */
export function normalizePlane(plane: Float32Array, channel: number): Float32Array {
  const mean = IMAGENET_MEAN[channel], std = IMAGENET_STD[channel];
  for (let i = 0; i < plane.length; i++) plane[i] = (plane[i] / 255 - mean) / std;
  return plane;
}

/** Per-sample augmentation, drawn on the main thread so that a seed replays it anywhere. */
export interface Augmentation {
  /** Window of the S×S preprocessed maps that is resized back to S×S. */
  crop?: CropBox;
  flip: boolean;
}

export interface PreprocessOptions {
  /** Output side S (224 in the reference). */
  size: number;
  /** Side at which the heatmap is blurred (64 in the reference). */
  blurSize: number;
  /** Apply the model-zoo normalisation to the image. */
  normalize: boolean;
}

export const REFERENCE_PREPROCESS: PreprocessOptions = { size: 224, blurSize: 64, normalize: true };

function augmentPlane(plane: Float32Array, size: number, augmentation?: Augmentation): Float32Array {
  let out = plane;
  if (augmentation?.crop) out = resizeBilinear(out, size, size, size, size, augmentation.crop);
  if (augmentation?.flip) out = flipHorizontal(out, size, size);
  return out;
}

/** Image [3,S,S] (normalised or 0..255) from a decoded RGB image. */
export function preprocessImage(image: DecodedImage, options: PreprocessOptions, augmentation?: Augmentation): Float32Array {
  if (image.channels !== 3) throw new Error(`image has ${image.channels} channel(s), expected RGB`);
  const { size } = options;
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    let p = resizeBilinear(image.data, image.height, image.width, size, size, undefined, 3, c);
    p = augmentPlane(p, size, augmentation);
    out.set(options.normalize ? normalizePlane(p, c) : p, c * size * size);
  }
  return out;
}

/** Heatmap [S,S] from a decoded grayscale map: resize to blurSize, blur, resize to S. */
export function preprocessHeatmap(heatmap: DecodedImage, options: PreprocessOptions, augmentation?: Augmentation): Float32Array {
  if (heatmap.channels !== 1) throw new Error(`heatmap has ${heatmap.channels} channels, expected 1`);
  const { size, blurSize } = options;
  const small = resizeBilinear(heatmap.data, heatmap.height, heatmap.width, blurSize, blurSize);
  const blurred = gaussianBlur(small, blurSize, blurSize);
  return augmentPlane(resizeBilinear(blurred, blurSize, blurSize, size, size), size, augmentation);
}
