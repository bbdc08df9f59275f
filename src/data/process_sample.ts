// Decode + preprocess of one encoded sample: the unit of work that runs in a decode worker.

import type { JpegDecoder } from "./jpeg.ts";
import { type Augmentation, type PreprocessOptions, preprocessHeatmap, preprocessImage } from "./preprocess.ts";

export interface SampleJob {
  image: Uint8Array;
  /** Absent for plain images, which get a zero map. */
  heatmap?: Uint8Array;
  options: PreprocessOptions;
  augmentation?: Augmentation;
}

export interface ProcessedSample {
  /** [3,S,S] */
  image: Float32Array;
  /** [S,S] */
  heatmap: Float32Array;
}

async function decodeFeature(decoder: JpegDecoder, bytes: Uint8Array, channels: 1 | 3, feature: string) {
  try {
    return await decoder(bytes, channels);
  } catch (e) {
    throw new Error(`feature '${feature}': ${e instanceof Error ? e.message : e}`);
  }
}

export async function processSample(job: SampleJob, decoder: JpegDecoder): Promise<ProcessedSample> {
  const { options, augmentation } = job;
  const image = preprocessImage(await decodeFeature(decoder, job.image, 3, "image"), options, augmentation);
  const heatmap = job.heatmap
    ? preprocessHeatmap(await decodeFeature(decoder, job.heatmap, 1, "heatmap"), options, augmentation)
    : new Float32Array(options.size * options.size);
  return { image, heatmap };
}
