// Bounded memory: shards produced lazily, far larger than what the reader or the loader may hold.

import { assert, assertEquals, test } from "../harness.ts";
import { Loader } from "../../src/data/loader.ts";
import { synthShardRecords } from "../../src/data/synthetic.ts";
import { lazyShard } from "../../bench/data/lazy_shard.ts";
import { newShardReport, readTFRecords } from "../../src/data/tfrecord_reader.ts";
import { crc32c, maskCrc } from "../../src/data/crc32c.ts";

const MB = 1 << 20;

test("data/memory: a 1 GB shard streams through the framing reader with bounded memory", async () => {
  const total = 1024 * MB;
  const payload = new Uint8Array(MB - 16).map((_, i) => i * 7);
  const before = Deno.memoryUsage().rss;
  let peak = before, records = 0, bytes = 0;
  for await (const record of readTFRecords(lazyShard(payload, total / MB), { shard: "lazy-1GB" })) {
    records++;
    bytes += record.data.length;
    if (records % 16 === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
  }
  assertEquals(records, 1024);
  assertEquals(bytes, 1024 * payload.length);
  const grown = (peak - before) / MB;
  assert(grown < 128, `RSS grew by ${grown.toFixed(0)} MB while streaming 1 GB`);
});

test("data/memory: the loader holds its prefetch window, not the shard (1500 records, window 16)", async () => {
  const [record] = [...synthShardRecords(0, { split: "train", size: 32, shards: 1, recordsPerShard: 1 })];
  const count = 1500;
  const source = { name: "lazy-clickme", open: () => Promise.resolve(lazyShard(record, count)) };
  const loader = new Loader({
    datasets: [{ shards: [source] }],
    batchSize: 8,
    prefetchBatches: 2,
    workers: 1,
    preprocess: { size: 32, blurSize: 32 },
  });
  // The baseline is taken once the decode worker (a whole isolate) is up and the pipeline is full.
  let before = 0, peak = 0, seen = 0;
  for await (const batch of loader) {
    seen += batch.size;
    const rss = Deno.memoryUsage().rss;
    if (seen === 5 * 8) before = peak = rss;
    peak = Math.max(peak, rss);
  }
  assertEquals(seen, count);
  assertEquals(loader.reports[0].records, count);
  const grown = (peak - before) / MB;
  assert(grown < 64, `RSS grew by ${grown.toFixed(0)} MB over 1460 records after the pipeline filled`);
});

test("data/memory: a signed 2^63 length field followed by 512 MB is skipped with bounded memory", async () => {
  const header = new Uint8Array(12);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, 2n ** 63n, true);
  view.setUint32(8, maskCrc(crc32c(header.subarray(0, 8))), true);
  const chunk = new Uint8Array(MB).fill(0x5a);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) controller.enqueue(header);
      if (sent === 512) return controller.close();
      sent++;
      controller.enqueue(chunk.slice());
    },
  });
  const before = Deno.memoryUsage().rss;
  const report = newShardReport("lazy-2^63");
  for await (const _ of readTFRecords(stream, { shard: "lazy-2^63", onBadRecord: "skip" }, report)) { /* none */ }
  const grown = (Deno.memoryUsage().rss - before) / MB;
  assertEquals(sent, 512);
  assertEquals(report.bad.length, 1);
  assert(/length field ≥ 2\^53 exceeds/.test(report.bad[0].reason), report.bad[0].reason);
  assert(grown < 128, `RSS grew by ${grown.toFixed(0)} MB while skipping 512 MB`);
});
