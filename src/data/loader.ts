// The input pipeline: shards → records → samples → host batches.
//   per dataset: shard order shuffled by seed → interleave `cycleLength` shards → shuffle buffer
//   → weighted mix of datasets → decode + preprocess in workers (ordered) → batch → prefetch.
// Every random choice comes from the seed, so a run replays exactly.

import { sampleAugmentation, type AugmentOptions } from "./augment.ts";
import { type EncodedSample, parseSample, type RecordLayout } from "./clickme_record.ts";
import { DecodePool, DecodePoolError, defaultWorkerCount } from "./decode_pool.ts";
import { ShardError, type SkippedRecord } from "./errors.ts";
import { decodeExample } from "./example.ts";
import { type Augmentation, type PreprocessOptions, REFERENCE_PREPROCESS } from "./preprocess.ts";
import { Random } from "./random.ts";
import { resolveShards, type ShardInput } from "./shard_list.ts";
import type { ByteSource, UrlSourceOptions } from "./source.ts";
import { batch, interleave, mapOrdered, mix, prefetch, shuffle } from "./stream_ops.ts";
import {
  type BadRecordPolicy,
  type Compression,
  describeReport,
  newShardReport,
  readTFRecords,
  rejectRecord,
  type ShardReport,
} from "./tfrecord_reader.ts";

export interface DatasetSpec {
  shards: ShardInput[];
  /** "clickme": image, heatmap, label (t = 1); "images": image, label, trained with a zero map (t = 0). */
  layout?: RecordLayout;
  /** Relative share of this dataset in the mix (the reference: ClickMe 0.2, ImageNet 0.8). */
  weight?: number;
}

export interface LoaderOptions {
  datasets: DatasetSpec[];
  batchSize: number;
  dropRemainder?: boolean;
  /** Records held by each dataset's shuffle buffer; 0 keeps the stored order (and the shard order). */
  shuffleBuffer?: number;
  seed?: number;
  /** Shards of a dataset read at once, one record from each in turn. */
  cycleLength?: number;
  /** Batches prepared ahead of the consumer. */
  prefetchBatches?: number;
  /** Decode workers; 0 decodes on the calling thread. */
  workers?: number;
  preprocess?: Partial<PreprocessOptions>;
  /** Random resized crop + flip, applied alike to image and map; off by default (evaluation). */
  augment?: AugmentOptions | false;
  /** "error" (default) stops at the first bad record with a ShardError naming it; "skip" counts it and goes on. */
  onBadRecord?: BadRecordPolicy;
  /** Told of each record the skip policy passes over, as it happens (a run logs these as "skip" lines). */
  onSkip?: (skip: SkippedRecord) => void;
  /** The model's class count: a label outside [0, classes) is an error naming the record, under either policy. */
  classes?: number;
  maxRecordBytes?: number;
  compression?: Compression;
  url?: UrlSourceOptions;
  /**
   * Samples at the start of each pass dropped without decoding (a resumed epoch); their
   * augmentations are still drawn, so every later sample is the one an unbroken pass yields.
   * Exact unless a skipped record would have failed to decode under the "skip" policy.
   */
  skipSamples?: number;
  /** Called when a shard has been read to its end; by default warns when it had bad records. */
  onShardDone?: (report: ShardReport) => void;
}

/** One batch on the host, in the layouts the model and the harmonizer loss take. */
export interface HostBatch {
  size: number;
  /** [N,3,S,S] */
  images: Float32Array;
  /** [N,S,S] */
  heatmaps: Float32Array;
  /** [N] class indices */
  labels: Int32Array;
  /** [N] t_n: 1 where the image has a human map */
  tokens: Float32Array;
  imageShape: [number, number, number, number];
  heatmapShape: [number, number, number];
}

interface Where {
  shard: string;
  index: number;
  offset: number;
  length: number;
  report: ShardReport;
}

interface EncodedRecord extends EncodedSample {
  where: Where;
}

function warnIfBad(report: ShardReport): void {
  if (report.bad.length > 0 || report.truncatedTail) console.warn(`warning: ${describeReport(report)}`);
}

function shuffled<T>(items: T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Batches from ClickMe-style shards. Iterate it once per epoch: each pass reshuffles with
 * (seed, epoch). `reports` gets one entry per shard per pass, bad records included.
 */
export class Loader implements AsyncIterable<HostBatch> {
  readonly reports: ShardReport[] = [];
  #epoch = 0;
  #sources: Promise<ByteSource[][]>;

  constructor(readonly options: LoaderOptions) {
    if (options.datasets.length === 0) throw new Error("loader: no datasets given");
    if (!(options.batchSize > 0)) throw new Error(`loader: batchSize must be positive, got ${options.batchSize}`);
    if (options.classes !== undefined && !(Number.isSafeInteger(options.classes) && options.classes > 0)) {
      throw new Error(`loader: classes must be a positive integer, got ${options.classes}`);
    }
    this.#sources = Promise.all(options.datasets.map((d) => resolveShards(d.shards, options.url)));
    this.#sources.catch(() => {}); // reported when iterated
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<HostBatch> {
    const options = this.options;
    const epoch = this.#epoch++;
    const seed = ((options.seed ?? 0) * 1000003 + epoch) >>> 0;
    const preprocess = { ...REFERENCE_PREPROCESS, ...options.preprocess };
    const sources = await this.#sources;
    const pool = new DecodePool(options.workers ?? defaultWorkerCount());
    const augmentRandom = new Random(seed ^ 0x5eed);
    try {
      const streams = options.datasets.map((dataset, d) => ({
        items: this.#records(sources[d], dataset.layout ?? "clickme", new Random(seed + 7919 * (d + 1))),
        weight: dataset.weight ?? 1,
      }));
      const records = streams.length === 1 ? streams[0].items : mix(streams, new Random(seed ^ 0xa11));
      let skip = options.skipSamples ?? 0;
      const samples = mapOrdered(records, (record) => {
        const augmentation = options.augment ? sampleAugmentation(preprocess.size, augmentRandom, options.augment) : undefined;
        if (skip > 0) {
          skip--;
          return Promise.resolve(null);
        }
        return this.#process(pool, record, preprocess, augmentation);
      }, Math.max(2, 2 * pool.size));
      const kept = filterNull(samples);
      yield* prefetch(assemble(batch(kept, options.batchSize, options.dropRemainder ?? false), preprocess.size), options.prefetchBatches ?? 2);
    } finally {
      pool.close();
    }
  }

  #records(sources: ByteSource[], layout: RecordLayout, random: Random): AsyncIterable<EncodedRecord> {
    const shuffleBuffer = this.options.shuffleBuffer ?? 0;
    const order = shuffleBuffer > 0 ? shuffled(sources, random) : sources;
    const perShard = order.map((source) => () => this.#shardRecords(source, layout));
    const interleaved = interleave(perShard, this.options.cycleLength ?? 4);
    return shuffleBuffer > 0 ? shuffle(interleaved, shuffleBuffer, random) : interleaved;
  }

  async *#shardRecords(source: ByteSource, layout: RecordLayout): AsyncGenerator<EncodedRecord> {
    const options = this.options;
    const report = newShardReport(source.name);
    this.reports.push(report);
    const stream = await source.open();
    const records = readTFRecords(stream, {
      shard: source.name,
      maxRecordBytes: options.maxRecordBytes,
      onBadRecord: options.onBadRecord,
      onSkip: options.onSkip,
      compression: options.compression,
    }, report);
    const classes = options.classes;
    for await (const record of records) {
      const where = { shard: source.name, index: record.index, offset: record.offset, length: record.data.length, report };
      let sample: EncodedSample;
      try {
        sample = parseSample(decodeExample(record.data), layout);
      } catch (e) {
        this.#bad(where, e);
        continue;
      }
      // Not skippable: a label past the model's classes means the data and the model disagree.
      if (classes !== undefined && sample.label >= classes) {
        throw new ShardError(source.name, record.index, record.offset, `label ${sample.label} is outside the model's ${classes} classes (0..${classes - 1})`);
      }
      yield { ...sample, where };
    }
    (options.onShardDone ?? warnIfBad)(report);
  }

  async #process(pool: DecodePool, record: EncodedRecord, preprocess: PreprocessOptions, augmentation: Augmentation | undefined) {
    try {
      // Slices, so that posting to a worker copies the JPEG bytes and not the whole record buffer.
      const job = { image: record.image.slice(), heatmap: record.heatmap?.slice(), options: preprocess, augmentation };
      const { image, heatmap } = await pool.process(job);
      return { image, heatmap, label: record.label, token: record.heatmap ? 1 : 0 };
    } catch (e) {
      if (e instanceof DecodePoolError) throw e;
      this.#bad(record.where, e);
      return null;
    }
  }

  /** Throws a ShardError naming the record, or under the skip policy records it and moves on. */
  #bad(where: Where, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (this.options.onBadRecord !== "skip") throw new ShardError(where.shard, where.index, where.offset, reason);
    rejectRecord(where.report, where, reason);
    this.options.onSkip?.({ type: "skip", shard: where.shard, record: where.index, offset: where.offset, reason });
  }
}

async function* filterNull<T>(items: AsyncIterable<T | null>): AsyncGenerator<T> {
  for await (const item of items) if (item !== null) yield item;
}

interface Sample {
  image: Float32Array;
  heatmap: Float32Array;
  label: number;
  token: number;
}

async function* assemble(batches: AsyncIterable<Sample[]>, size: number): AsyncGenerator<HostBatch> {
  const plane = size * size;
  for await (const samples of batches) {
    const n = samples.length;
    const out: HostBatch = {
      size: n,
      images: new Float32Array(n * 3 * plane),
      heatmaps: new Float32Array(n * plane),
      labels: new Int32Array(n),
      tokens: new Float32Array(n),
      imageShape: [n, 3, size, size],
      heatmapShape: [n, size, size],
    };
    samples.forEach((s, i) => {
      out.images.set(s.image, i * 3 * plane);
      out.heatmaps.set(s.heatmap, i * plane);
      out.labels[i] = s.label;
      out.tokens[i] = s.token;
    });
    yield out;
  }
}
