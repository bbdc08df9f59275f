// URL streams from servers that misbehave, on 127.0.0.1 with raw sockets so that every fault is
// real: a wrong Content-Range, a body shorter or longer than announced, a connection that stalls
// before or after the headers, a file that changes size between requests. Each ends in the whole
// shard or in a named error after a bounded number of requests; none hangs.

import { assert, assertEquals, assertRejects, test } from "../harness.ts";
import { urlSource } from "../../src/data/source.ts";
import { synthShards } from "../../src/data/synthetic.ts";
import { readTFRecords } from "../../src/data/tfrecord_reader.ts";
import { honest as honestFor, type Plan, rawServer, type RawServer } from "./raw_http.ts";

const [{ bytes: shard }] = await synthShards({ split: "val", size: 32, shards: 1, recordsPerShard: 10 });
const RECORDS = 10;

const honest = (start: number) => honestFor(shard, start);

async function read(url: string, stallTimeoutMs = 5_000): Promise<number> {
  let n = 0;
  const source = urlSource(url, { retryDelayMs: 1, retries: 3, stallTimeoutMs });
  for await (const _ of readTFRecords(await source.open(), { shard: url })) n++;
  return n;
}

async function withServer(script: (index: number, start: number) => Plan, body: (server: RawServer) => Promise<void>): Promise<void> {
  const server = rawServer(script);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

test("data/url faults: a wrong Content-Range is retried, then a named error; one wrong answer then a right one resumes", async () => {
  const wrong = (index: number, start: number): Plan => {
    if (index === 0) return { ...honest(0), send: 1000 };
    const plan = honest(start);
    return { ...plan, headers: [`content-length: ${shard.length}`, `content-range: bytes 0-${shard.length - 1}/${shard.length}`], body: shard };
  };
  await withServer(wrong, async (server) => {
    await assertRejects(() => read(server.url), /val-0\.tfrecords: gave up at byte 1000 after 4 failed attempts: asked for bytes from 1000, got Content-Range "bytes 0-\d+\/\d+"/);
    // The cut and three wrong answers: four failed attempts in a row, then no more requests.
    assertEquals(server.requests, ["full", "bytes=1000-", "bytes=1000-", "bytes=1000-"]);
  });
  await withServer((index, start) => index === 1 ? wrong(index, start) : index === 0 ? wrong(0, 0) : honest(start), async (server) => {
    assertEquals(await read(server.url), RECORDS);
    assertEquals(server.requests, ["full", "bytes=1000-", "bytes=1000-"]);
  });
});

test("data/url faults: a body shorter than announced resumes; a server that always falls short ends in a named error", async () => {
  await withServer((index, start) => ({ ...honest(start), send: index === 0 ? shard.length - 700 : undefined }), async (server) => {
    assertEquals(await read(server.url), RECORDS);
    assertEquals(server.requests, ["full", `bytes=${shard.length - 700}-`]);
  });
  await withServer((_, start) => ({ ...honest(start), send: Math.max(0, shard.length - start - 700) }), async (server) => {
    const at = shard.length - 700;
    await assertRejects(() => read(server.url), new RegExp(`gave up at byte ${at} after 4 failed attempts: (error reading a body|connection closed after ${at} of ${shard.length} bytes)`));
    assertEquals(server.requests.length, 4);
  });
});

test("data/url faults: bytes past the announced size are never passed on", async () => {
  // Content-Length bounds what HTTP delivers: extra bytes after it are not part of the response.
  const extra = new Uint8Array(300).fill(0xee);
  const padded = new Uint8Array([...shard, ...extra]);
  await withServer(() => ({ headers: [`content-length: ${shard.length}`], body: padded }), async (server) => {
    assertEquals(await read(server.url), RECORDS);
  });
  // Without a Content-Length, a resumed answer whose Content-Range promised less is caught.
  await withServer((index, start) => {
    if (index === 0) return { ...honest(0), send: 1000 };
    return { status: "206 Partial Content", headers: [`content-range: bytes ${start}-${shard.length - 1}/${shard.length}`], body: new Uint8Array([...shard.subarray(start), ...extra]) };
  }, async (server) => {
    await assertRejects(() => read(server.url), new RegExp(`val-0\\.tfrecords: the server sent more than the ${shard.length} bytes it announced`));
  });
});

test("data/url faults: a stalled connection is dropped and resumed; a server that never answers is a named error, not a hang", async () => {
  await withServer((index, start) => index === 0 ? { ...honest(0), send: 1500, stall: true } : honest(start), async (server) => {
    assertEquals(await read(server.url, 300), RECORDS);
    assertEquals(server.requests, ["full", "bytes=1500-"]);
  });
  await withServer(() => ({ send: -1, stall: true }), async (server) => {
    await assertRejects(() => read(server.url, 200), /val-0\.tfrecords: gave up at byte 0 after 4 failed attempts: no bytes for 200 ms/);
    assertEquals(server.requests.length, 4);
  });
});

test("data/url faults: a file that changes size between requests stops at once, naming it", async () => {
  await withServer((index, start) => {
    if (index === 0) return { ...honest(0), send: 1000 };
    return { status: "206 Partial Content", headers: [`content-range: bytes ${start}-${shard.length + 99}/${shard.length + 100}`, `content-length: ${shard.length + 100 - start}`], body: shard.subarray(start) };
  }, async (server) => {
    const error = await assertRejects(() => read(server.url), /val-0\.tfrecords: the file changed from \d+ to \d+ bytes while being read \(at byte 1000\)/);
    assert(!/gave up/.test(error.message), error.message);
    assertEquals(server.requests.length, 2);
  });
});
