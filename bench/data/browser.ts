/// <reference lib="dom" />
// Chromium side of the data benchmark: builds a 256×256 synthetic shard in memory with the writer,
// then times the stages. Lines go to the page and to `window.__benchLog` (set by chromium.mjs).

import { bytesSource } from "../../src/data/source.ts";
import { synthShards } from "../../src/data/synthetic.ts";
import { runStages } from "./stages.ts";

const page = globalThis as unknown as { __benchLog?: (line: string) => Promise<void>; __benchDone?: boolean };
const pre = document.getElementById("log")!;
const log = (line: string) => {
  pre.textContent += line + "\n";
  void page.__benchLog?.(line);
};

try {
  const records = Number(new URLSearchParams(location.search).get("records") ?? 256);
  log(`${navigator.userAgent}`);
  const [shard] = await synthShards({ split: "train", size: 256, shards: 1, recordsPerShard: records, shortcut: true });
  log(`shard: ${(shard.bytes.length / (1 << 20)).toFixed(1)} MB in memory`);
  await runStages(bytesSource(shard.bytes, shard.name), log);
} catch (e) {
  log(`error: ${e instanceof Error ? e.stack ?? e.message : e}`);
} finally {
  page.__benchDone = true;
}
