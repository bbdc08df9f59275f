/** Maps and network-normalised images turned back into 8-bit pictures for reports. */
import type { RasterImage } from "../io/png.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "../data/preprocess.ts";

const clampByte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

/** A black–red–yellow ramp over [low, high] (by default the map's own range); NaN shows black. */
export function heatImage(values: ArrayLike<number>, width: number, height: number, low?: number, high?: number): RasterImage {
  const count = width * height;
  if (values.length !== count) throw new Error(`heatImage: ${values.length} values for a ${width}×${height} map`);
  let lo = low ?? Infinity;
  let hi = high ?? -Infinity;
  if (low === undefined || high === undefined) {
    for (let i = 0; i < count; i++) {
      if (!Number.isFinite(values[i])) continue;
      if (low === undefined) lo = Math.min(lo, values[i]);
      if (high === undefined) hi = Math.max(hi, values[i]);
    }
  }
  const span = hi - lo || 1;
  const data = new Uint8Array(3 * count);
  for (let i = 0; i < count; i++) {
    const v = Number.isFinite(values[i]) ? Math.max(0, Math.min(1, (values[i] - lo) / span)) : 0;
    data[3 * i] = clampByte(255 * Math.min(1, 2 * v));
    data[3 * i + 1] = clampByte(255 * Math.max(0, 2 * v - 1) ** 0.8);
    data[3 * i + 2] = clampByte(255 * 0.15 * (1 - v));
  }
  return { width, height, channels: 3, data };
}

/** An image [3, H, W] as the network sees it (ImageNet mean/std normalised), back in RGB. */
export function rgbImage(chw: ArrayLike<number>, width: number, height: number): RasterImage {
  const plane = width * height;
  if (chw.length !== 3 * plane) throw new Error(`rgbImage: ${chw.length} values for a 3×${height}×${width} image`);
  const data = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) data[3 * i + c] = clampByte(255 * (chw[c * plane + i] * IMAGENET_STD[c] + IMAGENET_MEAN[c]));
  }
  return { width, height, channels: 3, data };
}
