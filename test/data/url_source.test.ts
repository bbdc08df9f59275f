// The URL source's resume logic in both runtimes: a fetch stand-in that cuts the first response
// mid-shard and answers Range requests from the shard bytes; and a real fetch of a blob: URL.

import { assertEquals, assertRejects, test } from "../harness.ts";
import { urlSource } from "../../src/data/source.ts";
import { readTFRecords } from "../../src/data/tfrecord_reader.ts";
import { tfrecordBytes } from "../../src/data/tfrecord_writer.ts";

const shard = await tfrecordBytes(Array.from({ length: 30 }, (_, i) => new Uint8Array(100 + i).fill(i)));

/** A fetch that serves `shard`, honouring Range, and cuts the responses listed in `cuts` after that many bytes. */
function fakeFetch(cuts: (number | undefined)[], ranges: string[]): typeof fetch {
  return (_url: string | URL | Request, init?: RequestInit) => {
    const range = new Headers(init?.headers).get("range");
    ranges.push(range ?? "full");
    const start = range ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0;
    const body = shard.subarray(start);
    const cut = cuts[ranges.length - 1];
    let sent = false;
    const stream = new ReadableStream<Uint8Array>({
      // Erroring a stream drops what is queued, so the bytes go out in one pull and the cut in the next.
      pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(body.slice(0, cut ?? body.length));
        } else if (cut === undefined) controller.close();
        else controller.error(new TypeError("network connection lost"));
      },
    }, { highWaterMark: 0 });
    const headers: Record<string, string> = { "content-length": String(body.length) };
    if (start > 0) headers["content-range"] = `bytes ${start}-${shard.length - 1}/${shard.length}`;
    return Promise.resolve(new Response(stream, { status: start > 0 ? 206 : 200, headers }));
  };
}

async function count(url: string, fetchFn?: typeof fetch): Promise<number> {
  let n = 0;
  const source = urlSource(url, { fetch: fetchFn, retryDelayMs: 1, retries: 2 });
  for await (const _ of readTFRecords(await source.open(), { shard: url })) n++;
  return n;
}

test("data/url_source: cuts resume with Range from the byte reached, in any runtime", async () => {
  const ranges: string[] = [];
  assertEquals(await count("https://example.invalid/s.tfrecords", fakeFetch([700, 1500, undefined], ranges)), 30);
  assertEquals(ranges, ["full", "bytes=700-", "bytes=2200-"]);
});

test("data/url_source: too many cuts in a row without progress end in a clear error", async () => {
  const ranges: string[] = [];
  await assertRejects(
    () => count("https://example.invalid/s.tfrecords", fakeFetch([500, 0, 0, 0], ranges)),
    /s\.tfrecords: gave up at byte 500 after 3 failed attempts: network connection lost/,
  );
  assertEquals(ranges, ["full", "bytes=500-", "bytes=500-"]);
});

test("data/url_source: a blob: URL streams through the real fetch", async () => {
  const url = URL.createObjectURL(new Blob([shard as BlobPart]));
  try {
    assertEquals(await count(url), 30);
  } finally {
    URL.revokeObjectURL(url);
  }
});

/** A fetch whose first answer sends `first` bytes and then nothing; later answers come from `answer`. */
function stallingFetch(first: number, answer: (start: number) => Response, ranges: string[]): typeof fetch {
  return (_url: string | URL | Request, init?: RequestInit) => {
    const range = new Headers(init?.headers).get("range");
    ranges.push(range ?? "full");
    if (ranges.length > 1) return Promise.resolve(answer(Number(/bytes=(\d+)-/.exec(range!)![1])));
    let sent = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return new Promise(() => {}); // never another byte
        sent = true;
        controller.enqueue(shard.slice(0, first));
      },
    }, { highWaterMark: 0 });
    return Promise.resolve(new Response(stream, { headers: { "content-length": String(shard.length) } }));
  };
}

const partial = (start: number, contentRangeStart = start) =>
  new Response(shard.slice(start), {
    status: 206,
    headers: { "content-length": String(shard.length - start), "content-range": `bytes ${contentRangeStart}-${shard.length - 1}/${shard.length}` },
  });

test("data/url_source: a stalled answer is dropped and resumed; a wrong Content-Range is never read as the rest", async () => {
  const url = "https://example.invalid/s.tfrecords";
  const read = async (fetchFn: typeof fetch) => {
    let n = 0;
    const source = urlSource(url, { fetch: fetchFn, retryDelayMs: 1, retries: 2, stallTimeoutMs: 100 });
    for await (const _ of readTFRecords(await source.open(), { shard: url })) n++;
    return n;
  };
  const ranges: string[] = [];
  assertEquals(await read(stallingFetch(700, (start) => partial(start), ranges)), 30);
  assertEquals(ranges, ["full", "bytes=700-"]);
  const wrong: string[] = [];
  await assertRejects(() => read(stallingFetch(700, (start) => partial(start, 0), wrong)), /gave up at byte 700 after 3 failed attempts: asked for bytes from 700, got Content-Range "bytes 0-/);
  assertEquals(wrong.length, 3);
});
