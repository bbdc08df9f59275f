/**
 * The batches a run trains and evaluates on. An epoch's order depends only on (seed, epoch), so a
 * resumed run re-creates the epoch it stopped in and skips the samples it had already used.
 */
import { Loader, type LoaderOptions, type HostBatch } from "../data/loader.ts";
import type { ByteSource } from "../data/source.ts";
import { type BadRecordPolicy, newShardReport, readTFRecords } from "../data/tfrecord_reader.ts";

export interface RunData {
  /**
   * The training batches of one epoch, in an order fixed by the run's seed and the epoch, from
   * sample `skip` on (a resumed epoch; `skipSamples` does it for any stream).
   */
  epoch(epoch: number, batchSize: number, skip: number): AsyncIterable<HostBatch>;
  /** Batches per epoch at this batch size, or null when unknown (a stream). */
  stepsPerEpoch(batchSize: number): number | null;
  /** Validation batches (the same every time), if any. */
  validation?(): AsyncIterable<HostBatch>;
}

/** Drops the first `count` samples of a batch stream (a resumed epoch), keeping the rest in order. */
export async function* skipSamples(batches: AsyncIterable<HostBatch>, count: number): AsyncGenerator<HostBatch> {
  let left = count;
  for await (const host of batches) {
    if (left >= host.size) {
      left -= host.size;
      continue;
    }
    yield left === 0 ? host : sliceBatch(host, left);
    left = 0;
  }
}

function sliceBatch(host: HostBatch, from: number): HostBatch {
  const n = host.size - from;
  const [, c, h, w] = host.imageShape;
  return {
    size: n,
    images: host.images.slice(from * c * h * w),
    heatmaps: host.heatmaps.slice(from * h * w),
    labels: host.labels.slice(from),
    tokens: host.tokens.slice(from),
    imageShape: [n, c, h, w],
    heatmapShape: [n, h, w],
  };
}

/** A seed for epoch `epoch` of a run seeded `seed` (distinct per epoch, the same on every resume). */
export function epochSeed(seed: number, epoch: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 13)) >>> 0;
}

export interface LoaderDataOptions {
  /** Loader options for training, without batchSize and seed (the run sets them). */
  train: Omit<LoaderOptions, "batchSize" | "seed">;
  /** Loader options for validation (batchSize included), if any. */
  validation?: LoaderOptions;
  seed: number;
  /** Records in one pass over the training shards (counted up front), or null for a stream. */
  records: number | null;
}

/**
 * RunData over the ClickMe shard loader: a fresh loader per epoch, seeded from (seed, epoch). A
 * resumed epoch skips its first samples without decoding them, except under the "skip" policy,
 * where a record that fails to decode must be seen to be skipped alike.
 */
export function loaderData(options: LoaderDataOptions): RunData {
  const validation = options.validation ? new Loader(options.validation) : null;
  return {
    epoch: (epoch, batchSize, skip) => {
      const seed = epochSeed(options.seed, epoch);
      if (options.train.onBadRecord === "skip") return skipSamples(new Loader({ ...options.train, batchSize, seed }), skip);
      return new Loader({ ...options.train, batchSize, seed, skipSamples: skip });
    },
    stepsPerEpoch: (batchSize) => {
      if (options.records === null) return null;
      return options.train.dropRemainder ? Math.floor(options.records / batchSize) : Math.ceil(options.records / batchSize);
    },
    ...(validation ? { validation: () => validation } : {}),
  };
}

/** Good records in a pass over the shards (framing only, no decoding): what sizes an epoch. */
export async function countRecords(sources: ByteSource[], onBadRecord: BadRecordPolicy = "error"): Promise<number> {
  let records = 0;
  for (const source of sources) {
    const report = newShardReport(source.name);
    for await (const _ of readTFRecords(await source.open(), { shard: source.name, onBadRecord }, report));
    records += report.records;
  }
  return records;
}
