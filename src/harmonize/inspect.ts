/**
 * A closer look at a model on a validation set, for reports: the evaluation itself, a confusion
 * matrix, a small gallery (image, human map, evaluation saliency as PNG data URLs) and, for one
 * image with a human map, the five pyramid levels of S' and Hm'' as the harmonization term compares
 * them. One pass over the data, in eval mode: training state (BatchNorm running statistics
 * included) is left as it was, and the model's mode is restored.
 */
import { tidy } from "../engine.ts";
import type { Module } from "../nn/module.ts";
import { tensor } from "../ops/creation.ts";
import { oneHot } from "../ops/indexing.ts";
import { pngDataUrl } from "../io/png.ts";
import { type EvaluatedBatch, evaluate, type EvaluationReport } from "./evaluate.ts";
import { inputGradient, trainingSaliency } from "./saliency.ts";
import { comparedMaps } from "./loss.ts";
import { blurPyramid } from "./pyramid.ts";
import { heatImage, rgbImage } from "./map_images.ts";

export interface InspectOptions {
  classes: number;
  /** Names shown for the class indices (e.g. SYNTH_CLASS_NAMES). */
  classNames?: readonly string[];
  /** How many validation images the gallery shows, the first ones (default 8). */
  gallery?: number;
}

export interface GalleryEntry {
  label: number;
  predicted: number;
  /** Whether the image has a human map (token 1); without one the human map is blank. */
  mapped: boolean;
  /** PNG data URLs; each map is drawn on its own range. */
  image: string;
  human: string;
  saliency: string;
}

export interface PyramidLevel {
  width: number;
  height: number;
  /** S' and Hm'' at this level, drawn on one shared range from 0 so they compare by eye. */
  saliency: string;
  human: string;
  /** mean_{h,w} (S' − Hm'')² at this level: this image's share of the loss's level term. */
  mse: number;
}

export interface PyramidInspection {
  /** Position of the example in the validation order. */
  index: number;
  label: number;
  levels: PyramidLevel[];
}

export interface Inspection {
  classes: number;
  classNames?: string[];
  /** confusion[true label][predicted label]: image counts over the whole validation set. */
  confusion: number[][];
  gallery: GalleryEntry[];
  /** Null when no validation image has a human map. */
  pyramid: PyramidInspection | null;
  evaluation: EvaluationReport;
}

type Batches = Parameters<typeof evaluate>[1];

/** Evaluates `model` on `batches` and inspects it on the way; use `.evaluation` as the evaluation. */
export async function inspectModel(model: Module, batches: Batches, options: InspectOptions): Promise<Inspection> {
  const { classes, gallery: wanted = 8 } = options;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const gallery: GalleryEntry[] = [];
  let pyramid: PyramidInspection | null = null;
  let seenImages = 0;
  const evaluation = await evaluate(model, batches, classes, async (seen) => {
    const { predicted, labels, tokens } = seen;
    for (let i = 0; i < labels.length; i++) {
      if (!(labels[i] >= 0 && labels[i] < classes)) {
        throw new Error(`inspectModel: validation image ${seenImages + i} has label ${labels[i]}, outside 0..${classes - 1}`);
      }
      confusion[labels[i]][predicted[i]]++;
    }
    const firstMapped = Array.prototype.findIndex.call(tokens, (t: number) => t !== 0);
    if (gallery.length < wanted || (pyramid === null && firstMapped >= 0)) {
      const images = await seen.batch.images.data() as Float32Array;
      for (let i = 0; i < labels.length && gallery.length < wanted; i++) gallery.push(await galleryEntry(seen, images, i));
      if (pyramid === null && firstMapped >= 0) pyramid = await pyramidOf(model, seen, images, firstMapped, classes, seenImages);
    }
    seenImages += labels.length;
  });
  return {
    classes,
    ...(options.classNames ? { classNames: options.classNames.slice(0, classes) } : {}),
    confusion,
    gallery,
    pyramid,
    evaluation,
  };
}

/** [N, C, H, W] of the batch as (channels, height, width). */
function imageGeometry(seen: EvaluatedBatch): [number, number, number] {
  const [, channels, height, width] = seen.batch.images.shape;
  return [channels, height, width];
}

async function galleryEntry(seen: EvaluatedBatch, images: Float32Array, i: number): Promise<GalleryEntry> {
  const [channels, height, width] = imageGeometry(seen);
  const plane = height * width;
  const mapped = seen.tokens[i] !== 0;
  return {
    label: seen.labels[i],
    predicted: seen.predicted[i],
    mapped,
    image: await pngDataUrl(rgbImage(images.subarray(i * channels * plane, (i + 1) * channels * plane), width, height)),
    human: await pngDataUrl(heatImage(seen.heatmaps.subarray(i * plane, (i + 1) * plane), width, height, ...(mapped ? [] : [0, 1]))),
    saliency: await pngDataUrl(heatImage(seen.saliency.subarray(i * plane, (i + 1) * plane), width, height)),
  };
}

/** The training saliency of image i (eval mode), through the loss's maps, at every pyramid level. */
async function pyramidOf(model: Module, seen: EvaluatedBatch, images: Float32Array, i: number, classes: number, offset: number): Promise<PyramidInspection> {
  const [channels, height, width] = imageGeometry(seen);
  const plane = height * width;
  const x = tensor(images.slice(i * channels * plane, (i + 1) * channels * plane), [1, channels, height, width]);
  const human = tensor(seen.heatmaps.slice(i * plane, (i + 1) * plane), [1, height, width]);
  const label = tensor(Int32Array.of(seen.labels[i]), [1], "int32");
  const maps = tidy(() => {
    const { gradient } = inputGradient((v) => model.forward(v), x, oneHot(label, classes));
    const compared = comparedMaps(trainingSaliency(gradient), human);
    return [blurPyramid(compared.saliency), blurPyramid(compared.human)];
  });
  const levels: PyramidLevel[] = [];
  try {
    for (let level = 0; level < maps[0].length; level++) {
      const [, h, w] = maps[0][level].shape;
      const [s, m] = await Promise.all([maps[0][level].data(), maps[1][level].data()]);
      // Both maps are cut at zero (standardizeCut), so the shared range starts there.
      let high = 0;
      let squared = 0;
      for (let k = 0; k < s.length; k++) {
        high = Math.max(high, s[k], m[k]);
        squared += (s[k] - m[k]) ** 2;
      }
      levels.push({
        width: w,
        height: h,
        saliency: await pngDataUrl(heatImage(s, w, h, 0, high)),
        human: await pngDataUrl(heatImage(m, w, h, 0, high)),
        mse: squared / s.length,
      });
    }
  } finally {
    for (const t of [x, human, label, ...maps.flat()]) t.dispose();
  }
  return { index: offset + i, label: seen.labels[i], levels };
}
