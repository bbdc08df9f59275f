import { assert, assertClose, assertEquals, assertRejects, test } from "../harness.ts";
import { encodeSample } from "../../src/data/clickme_record.ts";
import { decodeExample } from "../../src/data/example.ts";
import { Loader, type LoaderOptions } from "../../src/data/loader.ts";
import { flipHorizontal } from "../../src/data/preprocess.ts";
import { bytesSource } from "../../src/data/source.ts";
import { synthShardRecords, synthShards } from "../../src/data/synthetic.ts";
import { tfrecordBytes } from "../../src/data/tfrecord_writer.ts";

const SIZE = 32;
const synth = { split: "train" as const, size: SIZE, classes: 4, shards: 2, recordsPerShard: 6 };
const shards = (await synthShards(synth)).map((s) => bytesSource(s.bytes, s.name));
const small = { size: SIZE, blurSize: SIZE, normalize: true };

async function collect(options: Partial<LoaderOptions>, loader = new Loader({ datasets: [{ shards }], batchSize: 4, workers: 0, preprocess: small, ...options })) {
  const batches = [];
  for await (const b of loader) batches.push(b);
  return { batches, loader };
}

test("data/loader: host batches have the documented shapes and every record once", async () => {
  const { batches, loader } = await collect({});
  assertEquals(batches.map((b) => b.size), [4, 4, 4]);
  const b = batches[0];
  assertEquals(b.imageShape, [4, 3, SIZE, SIZE]);
  assertEquals(b.heatmapShape, [4, SIZE, SIZE]);
  assertEquals([b.images.length, b.heatmaps.length, b.labels.length, b.tokens.length], [4 * 3 * SIZE * SIZE, 4 * SIZE * SIZE, 4, 4]);
  assertEquals([...b.tokens], [1, 1, 1, 1]);
  assert(b.heatmaps.some((v) => v > 10), "maps carry the clicks");
  assertEquals(loader.reports.map((r) => r.records), [6, 6]);
  // Without shuffling, the two shards interleave record by record.
  const expected = [];
  for (let r = 0; r < 6; r++) for (let s = 0; s < 2; s++) expected.push(decodeExample([...synthShardRecords(s, synth)][r]).get("label")!.values[0]);
  assertEquals(batches.flatMap((x) => [...x.labels]), expected);
  const dropped = await collect({ batchSize: 5, dropRemainder: true });
  assertEquals(dropped.batches.map((x) => x.size), [5, 5]);
  const kept = await collect({ batchSize: 5 });
  assertEquals(kept.batches.map((x) => x.size), [5, 5, 2]);
  const gzipped = (await synthShards({ ...synth, gzip: true })).map((s) => bytesSource(s.bytes, s.name));
  const fromGzip = await collect({ datasets: [{ shards: gzipped }] });
  assertEquals(fromGzip.batches.flatMap((x) => [...x.labels]), expected);
  assert(fromGzip.loader.reports.every((r) => r.compressed), "GZIP detected");
});

test("data/loader: a seed replays shuffle and augmentation exactly, with or without workers", async () => {
  const options = { shuffleBuffer: 8, seed: 42, augment: { scale: [0.3, 1] as [number, number], ratio: [0.75, 1.33] as [number, number], flip: true } };
  const a = await collect({ ...options, workers: 0 });
  const b = await collect({ ...options, workers: 1 });
  assertEquals(a.batches.flatMap((x) => [...x.labels]), b.batches.flatMap((x) => [...x.labels]));
  assertClose(a.batches[1].images, b.batches[1].images, { atol: 0, rtol: 0 });
  assertClose(a.batches[2].heatmaps, b.batches[2].heatmaps, { atol: 0, rtol: 0 });
  const next = a.loader[Symbol.asyncIterator]();
  const epoch2 = (await next.next()).value!;
  await next.return(undefined);
  assert(JSON.stringify([...epoch2.labels]) !== JSON.stringify([...a.batches[0].labels]) ||
    JSON.stringify([...epoch2.images.subarray(0, 50)]) !== JSON.stringify([...a.batches[0].images.subarray(0, 50)]), "a new epoch reshuffles");
});

test("data/loader: a flip moves image and map together", async () => {
  const plain = (await collect({})).batches[0];
  const flipped = (await collect({ augment: { scale: [1, 1], ratio: [1, 1], flip: true }, seed: 5 })).batches[0];
  const plane = SIZE * SIZE;
  let flips = 0;
  for (let i = 0; i < 4; i++) {
    const map = flipped.heatmaps.subarray(i * plane, (i + 1) * plane);
    const original = plain.heatmaps.subarray(i * plane, (i + 1) * plane);
    const red = flipped.images.subarray(i * 3 * plane, i * 3 * plane + plane);
    const originalRed = plain.images.subarray(i * 3 * plane, i * 3 * plane + plane);
    const mapFlipped = map.every((v, k) => v === flipHorizontal(original, SIZE, SIZE)[k]);
    const imageFlipped = red.every((v, k) => v === flipHorizontal(originalRed, SIZE, SIZE)[k]);
    assertEquals(mapFlipped, imageFlipped, `sample ${i}: image and map flip together`);
    if (!mapFlipped) assertClose(map, original, { atol: 0, rtol: 0 });
    flips += mapFlipped ? 1 : 0;
  }
  assert(flips > 0 && flips < 4, `seed 5 flips some but not all of the first batch (${flips})`);
});

test("data/loader: weighted mix gives plain images a zero map and t = 0", async () => {
  const [image] = decodeExample([...synthShardRecords(0, synth)][0]).get("image")!.values as Uint8Array[];
  const plainShard = await tfrecordBytes(Array.from({ length: 12 }, (_, i) => encodeSample({ image, label: 900 + i })));
  const { batches } = await collect({
    datasets: [{ shards, weight: 0.2 }, { shards: [bytesSource(plainShard, "imagenet-0")], layout: "images", weight: 0.8 }],
    seed: 3,
  });
  const plane = SIZE * SIZE;
  let plain = 0;
  for (const b of batches) {
    for (let i = 0; i < b.size; i++) {
      const isPlain = b.labels[i] >= 900;
      assertEquals(b.tokens[i], isPlain ? 0 : 1);
      if (isPlain) {
        plain++;
        assert(b.heatmaps.subarray(i * plane, (i + 1) * plane).every((v) => v === 0), "zero map");
      }
    }
  }
  assertEquals(plain, 12);
  assertEquals(batches.reduce((n, b) => n + b.size, 0), 24);
});

test("data/loader: non-JPEG bytes and a wrong schema name the record; skip counts them", async () => {
  const records = [...synthShardRecords(0, synth)];
  const bad = [...records];
  bad[3] = encodeSample({ image: new TextEncoder().encode("<html>not an image</html>"), heatmap: new Uint8Array([0xff, 0xd8, 0xff]), label: 1 });
  const shard = bytesSource(await tfrecordBytes(bad), "bad.tfrecords");
  await assertRejects(() => collect({ datasets: [{ shards: [shard] }] }), /bad\.tfrecords: record 3 at byte \d+: feature 'image': not a JPEG \(25 bytes starting with 3c 68 74 6d/);
  const warnings: string[] = [];
  const skipped = await collect({ datasets: [{ shards: [shard] }], onBadRecord: "skip", onShardDone: (r) => warnings.push(`${r.bad.length}`) });
  assertEquals(skipped.batches.reduce((n, b) => n + b.size, 0), 5);
  assertEquals(skipped.loader.reports[0].records, 5);
  assertEquals(skipped.loader.reports[0].bad.map((x) => x.index), [3]);
  const noMaps = bytesSource(await tfrecordBytes(records.map((r) => {
    const [image] = decodeExample(r).get("image")!.values as Uint8Array[];
    return encodeSample({ image, label: 0 });
  })), "nomaps.tfrecords");
  await assertRejects(() => collect({ datasets: [{ shards: [noMaps] }] }), /nomaps\.tfrecords: record 0 at byte 0: feature 'heatmap' is missing/);
});

test("data/loader: leaving the loop early shuts the workers down; the next pass starts afresh", async () => {
  const loader = new Loader({ datasets: [{ shards }], batchSize: 2, workers: 1, preprocess: small });
  for await (const batch of loader) {
    assertEquals(batch.size, 2);
    break;
  }
  const { batches } = await collect({}, loader);
  assertEquals(batches.reduce((n, b) => n + b.size, 0), 12);
});

test("data/loader: a corrupt record mid-run is skipped and told to onSkip with shard, record and offset, or stops the run there", async () => {
  const clean = await synthShards({ ...synth, shards: 3 });
  const middle = clean[1].bytes.slice();
  const secondRecord = 16 + new DataView(middle.buffer).getUint32(0, true); // offset of record 1
  middle[secondRecord + 20] ^= 0x01; // a data byte: the record's CRC no longer matches
  const sources = [bytesSource(clean[0].bytes, "s0"), bytesSource(middle, "s1"), bytesSource(clean[2].bytes, "s2")];
  await assertRejects(() => collect({ datasets: [{ shards: sources }] }), new RegExp(`^s1: record 1 at byte ${secondRecord}: data CRC mismatch$`));
  const skips: unknown[] = [];
  const { batches } = await collect({ datasets: [{ shards: sources }], onBadRecord: "skip", onSkip: (s) => skips.push(s), onShardDone: () => {} });
  assertEquals(batches.reduce((n, b) => n + b.size, 0), 17);
  assertEquals(skips, [{ type: "skip", shard: "s1", record: 1, offset: secondRecord, reason: "data CRC mismatch" }]);
  // A record that frames and decodes but does not hold a JPEG is told the same way.
  const records = [...synthShardRecords(0, synth)];
  records[2] = encodeSample({ image: new Uint8Array([1, 2, 3]), heatmap: new Uint8Array([1]), label: 0 });
  const schemaSkips: { record: number; reason: string }[] = [];
  await collect({ datasets: [{ shards: [bytesSource(await tfrecordBytes(records), "j")] }], onBadRecord: "skip", onSkip: (s) => schemaSkips.push(s), onShardDone: () => {} });
  assertEquals(schemaSkips.map((s) => s.record), [2]);
  assert(/feature 'image': not a JPEG/.test(schemaSkips[0].reason), schemaSkips[0].reason);
});

test("data/loader: a label outside the model's classes is an error naming the record, under either policy", async () => {
  const records = [...synthShardRecords(0, synth)];
  const labels = records.map((r) => decodeExample(r).get("label")!.values[0] as number);
  const high = Math.max(...labels);
  const at = labels.indexOf(high);
  const shard = bytesSource(await tfrecordBytes(records), "labels");
  for (const onBadRecord of ["error", "skip"] as const) {
    await assertRejects(
      () => collect({ datasets: [{ shards: [shard] }], classes: high, onBadRecord, onShardDone: () => {} }),
      new RegExp(`^labels: record ${at} at byte \\d+: label ${high} is outside the model's ${high} classes \\(0\\.\\.${high - 1}\\)$`),
    );
  }
  const { batches } = await collect({ datasets: [{ shards: [shard] }], classes: high + 1 });
  assertEquals(batches.reduce((n, b) => n + b.size, 0), records.length);
});
