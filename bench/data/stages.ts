// The data-pipeline stages timed in both runtimes: records/s read, parsed, JPEG-decoded (bare, by
// the runtime's decoder), decoded + preprocessed, and through the full loader.

import { type EncodedSample, parseSample } from "../../src/data/clickme_record.ts";
import { defaultWorkerCount } from "../../src/data/decode_pool.ts";
import { decodeExample } from "../../src/data/example.ts";
import { jpegDecoder } from "../../src/data/jpeg.ts";
import { Loader } from "../../src/data/loader.ts";
import { preprocessHeatmap, preprocessImage, REFERENCE_PREPROCESS } from "../../src/data/preprocess.ts";
import type { ByteSource } from "../../src/data/source.ts";
import { readTFRecords } from "../../src/data/tfrecord_reader.ts";

export async function timed(log: (line: string) => void, label: string, run: () => Promise<number>): Promise<void> {
  const start = performance.now();
  const records = await run();
  const seconds = (performance.now() - start) / 1000;
  log(`${label.padEnd(62)} ${(records / seconds).toFixed(1).padStart(9)} records/s`);
}

async function* records(source: ByteSource) {
  for await (const r of readTFRecords(await source.open(), { shard: source.name })) yield r;
}

/** Times every stage on `source` (a shard of ClickMe records); returns the parsed samples. */
export async function runStages(source: ByteSource, log: (line: string) => void): Promise<EncodedSample[]> {
  const samples: EncodedSample[] = [];
  for await (const r of records(source)) samples.push(parseSample(decodeExample(r.data), "clickme"));
  const decode = await jpegDecoder();
  // Warm the JIT and the decoder so the first measurement is not a compile-time one.
  for (const s of samples.slice(0, 16)) {
    preprocessImage(await decode(s.image, 3), REFERENCE_PREPROCESS);
    preprocessHeatmap(await decode(s.heatmap!, 1), REFERENCE_PREPROCESS);
  }
  log(`${samples.length} records, decoder: ${"Deno" in globalThis ? "MozJPEG WASM" : "createImageBitmap + OffscreenCanvas"}, ` +
    `${defaultWorkerCount()} decode worker(s) by default, ${navigator.hardwareConcurrency} cores`);

  await timed(log, "read: TFRecord framing + CRC32C", async () => {
    let n = 0;
    for await (const _ of records(source)) n++;
    return n;
  });
  await timed(log, "parse: + tf.train.Example decoding and schema", async () => {
    let n = 0;
    for await (const r of records(source)) n += parseSample(decodeExample(r.data), "clickme").label >= 0 ? 1 : 0;
    return n;
  });
  await timed(log, "bare decode: image + heatmap JPEG, 1 thread", async () => {
    for (const s of samples) {
      await decode(s.image, 3);
      await decode(s.heatmap!, 1);
    }
    return samples.length;
  });
  await timed(log, "decode + preprocess (256→224, blur at 64, normalise), 1 thread", async () => {
    for (const s of samples) {
      preprocessImage(await decode(s.image, 3), REFERENCE_PREPROCESS);
      preprocessHeatmap(await decode(s.heatmap!, 1), REFERENCE_PREPROCESS);
    }
    return samples.length;
  });
  for (const workers of [0, defaultWorkerCount()]) {
    await timed(log, `loader: read → decode → preprocess → batch 32, ${workers} worker(s)`, async () => {
      const loader = new Loader({ datasets: [{ shards: [source] }], batchSize: 32, workers, shuffleBuffer: 64, seed: 1 });
      let n = 0;
      for await (const batch of loader) n += batch.size;
      return n;
    });
  }
  await timed(log, "loader + augmentation (random resized crop + flip), workers", async () => {
    const loader = new Loader({ datasets: [{ shards: [source] }], batchSize: 32, augment: { scale: [0.08, 1], ratio: [3 / 4, 4 / 3], flip: true } });
    let n = 0;
    for await (const batch of loader) n += batch.size;
    return n;
  });
  return samples;
}
