/** Host batches from the loader → GPU tensors in the layouts the models and the harmonizer loss take. */
import { tensor } from "../ops/creation.ts";
import { dispose } from "../engine.ts";
import type { Batch } from "./batch.ts";
import type { HostBatch } from "./loader.ts";

export function toTensors(host: HostBatch): Batch {
  return {
    images: tensor(host.images, host.imageShape),
    heatmaps: tensor(host.heatmaps, host.heatmapShape),
    labels: tensor(host.labels, [host.size], "int32"),
    tokens: tensor(host.tokens, [host.size]),
  };
}

/**
 * Uploads each batch as it arrives. A batch's tensors live until the consumer asks for the next
 * one (or stops iterating), then they are disposed: loops over epochs cannot leak GPU memory.
 */
export async function* gpuBatches(batches: AsyncIterable<HostBatch> | Iterable<HostBatch>): AsyncGenerator<Batch> {
  for await (const host of batches) {
    const batch = toTensors(host);
    try {
      yield batch;
    } finally {
      dispose(batch);
    }
  }
}
