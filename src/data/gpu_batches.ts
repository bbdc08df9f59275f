/** Host batches from the loader → GPU tensors in the layouts the models and the harmonizer loss take. */
import { tensor } from "../ops/creation.ts";
import type { Batch } from "../harmonize/train_step.ts";
import type { HostBatch } from "./loader.ts";

export function toTensors(host: HostBatch): Batch {
  return {
    images: tensor(host.images, host.imageShape),
    heatmaps: tensor(host.heatmaps, host.heatmapShape),
    labels: tensor(host.labels, [host.size], "int32"),
    tokens: tensor(host.tokens, [host.size]),
  };
}

/** Uploads each batch as it arrives; the consumer disposes the tensors of each batch. */
export async function* gpuBatches(batches: AsyncIterable<HostBatch>): AsyncGenerator<Batch> {
  for await (const host of batches) yield toTensors(host);
}
