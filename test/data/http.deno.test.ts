// HTTP streaming from a local 127.0.0.1 server: Range resume after a cut, servers that ignore
// Range, missing shards and servers that keep failing.

import { assert, assertEquals, assertRejects, test } from "../harness.ts";
import { Loader } from "../../src/data/loader.ts";
import { resolveShards } from "../../src/data/shard_list.ts";
import { urlSource } from "../../src/data/source.ts";
import { synthShards } from "../../src/data/synthetic.ts";
import { newShardReport, readTFRecords } from "../../src/data/tfrecord_reader.ts";
import { honest, rawServer, type RawServer } from "./raw_http.ts";

const [{ bytes: shard }] = await synthShards({ split: "val", size: 32, shards: 1, recordsPerShard: 10 });

/**
 * A raw-socket server serving `shard`: `cutFirst` closes the first connection after that many body
 * bytes; `ignoreRange` always sends the whole shard with 200; `status` answers every request with it.
 */
function serve(options: { cutFirst?: number; ignoreRange?: boolean; status?: number }): RawServer {
  return rawServer((index, start) => {
    if (options.status) return { status: `${options.status} Oops`, headers: ["content-length: 0"] };
    return { ...honest(shard, options.ignoreRange ? 0 : start), send: index === 0 ? options.cutFirst : undefined };
  });
}

async function countRecords(url: string) {
  const report = newShardReport(url);
  let n = 0;
  const source = urlSource(url, { retryDelayMs: 1, retries: 3 });
  for await (const _ of readTFRecords(await source.open(), { shard: url }, report)) n++;
  return { n, report };
}

test("data/http: a shard streams from 127.0.0.1", async () => {
  const server = serve({});
  try {
    assertEquals((await countRecords(server.url)).n, 10);
    assertEquals(server.requests, ["full"]);
  } finally {
    await server.close();
  }
});

test("data/http: a connection cut mid-shard resumes with a Range request", async () => {
  const server = serve({ cutFirst: 1000 });
  try {
    const { n, report } = await countRecords(server.url);
    assertEquals(n, 10);
    assertEquals(report.bad.length, 0);
    assertEquals(server.requests[0], "full");
    assert(server.requests.length === 2 && /^bytes=\d+-$/.test(server.requests[1]), `requests ${server.requests}`);
    const resumedAt = Number(/\d+/.exec(server.requests[1])![0]);
    assert(resumedAt > 0 && resumedAt <= 1000, `resumed at ${resumedAt}`);
  } finally {
    await server.close();
  }
});

test("data/http: a server that ignores Range still yields every byte once", async () => {
  const server = serve({ cutFirst: 777, ignoreRange: true });
  try {
    assertEquals((await countRecords(server.url)).n, 10);
    assertEquals(server.requests.length, 2);
  } finally {
    await server.close();
  }
});

test("data/http: 404 fails at once naming the URL; 500s are retried, then a clear error", async () => {
  const missing = serve({ status: 404 });
  try {
    await assertRejects(() => countRecords(missing.url), /val-0\.tfrecords: HTTP 404/);
    assertEquals(missing.requests.length, 1);
  } finally {
    await missing.close();
  }
  const failing = serve({ status: 500 });
  try {
    await assertRejects(() => countRecords(failing.url), /val-0\.tfrecords: gave up at byte 0 after 4 failed attempts: HTTP 500/);
    assertEquals(failing.requests.length, 4);
  } finally {
    await failing.close();
  }
});

test("data/http: the loader reads brace-expanded URLs, cuts and all", async () => {
  const server = serve({ cutFirst: 2000 });
  try {
    const pattern = server.url.replace("val-0", "val-{0..0}");
    const sources = await resolveShards([pattern], { retryDelayMs: 1 });
    assertEquals(sources.map((s) => s.name), [server.url]);
    const loader = new Loader({ datasets: [{ shards: sources }], batchSize: 5, workers: 0, preprocess: { size: 32, blurSize: 32 } });
    let n = 0;
    for await (const batch of loader) n += batch.size;
    assertEquals(n, 10);
  } finally {
    await server.close();
  }
});
