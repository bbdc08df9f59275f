// Data pipeline throughput in Deno (bench/data/stages.ts), plus the pure-JS jpeg-js decoder for
// comparison and a 1 GB lazily generated shard streamed with its peak memory.
// Run: XDG_RUNTIME_DIR=/tmp node_modules/.bin/deno run -A bench/data/main.ts [records]
// Chromium: node bench/data/chromium.mjs [records]

import jpegJs from "jpeg-js";
import { writeShardFile } from "../../src/data/shard_file.ts";
import { fileSource } from "../../src/data/source_file.ts";
import { synthShardRecords } from "../../src/data/synthetic.ts";
import { readTFRecords } from "../../src/data/tfrecord_reader.ts";
import { lazyShard } from "./lazy_shard.ts";
import { runStages, timed } from "./stages.ts";

const RECORDS = Number(Deno.args[0] ?? 512);
const MB = 1 << 20;
const shardPath = new URL(`../out/synth-256-${RECORDS}.tfrecords`, import.meta.url).pathname;

try {
  await Deno.stat(shardPath);
} catch {
  console.log(`writing ${RECORDS} 256×256 synthetic ClickMe records to ${shardPath} (once)…`);
  await Deno.mkdir(new URL("../out/", import.meta.url), { recursive: true });
  await writeShardFile(shardPath, synthShardRecords(0, { split: "train", size: 256, shards: 1, recordsPerShard: RECORDS, shortcut: true }));
}

console.log(`Deno ${Deno.version.deno}, shard ${shardPath} (${((await Deno.stat(shardPath)).size / MB).toFixed(1)} MB)`);
const samples = await runStages(fileSource(shardPath), console.log);

for (const s of samples.slice(0, 8)) jpegJs.decode(s.image, { useTArray: true });
await timed(console.log, "bare decode: image + heatmap JPEG, jpeg-js (pure JS), 1 thread", () => {
  for (const s of samples) {
    jpegJs.decode(s.image, { useTArray: true });
    jpegJs.decode(s.heatmap!, { useTArray: true });
  }
  return Promise.resolve(samples.length);
});

const payload = new Uint8Array(MB - 16).map((_, i) => i * 13);
const before = Deno.memoryUsage().rss;
let peak = before;
const start = performance.now();
let n = 0;
for await (const _ of readTFRecords(lazyShard(payload, 1024), { shard: "lazy-1GB" })) {
  if (++n % 32 === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
}
const seconds = (performance.now() - start) / 1000;
console.log(`1 GB lazy shard (1024 × 1 MB records): ${(1024 / seconds).toFixed(0)} MB/s, peak RSS growth ${((peak - before) / MB).toFixed(0)} MB`);
