// URL streams from servers that misbehave, on 127.0.0.1 with raw sockets so that every fault is
// real: a wrong Content-Range, a body shorter or longer than announced, a connection that stalls
// before or after the headers, a file that changes size between requests. Each ends in the whole
// shard or in a named error after a bounded number of requests; none hangs.

import { assert, assertEquals, assertRejects, test } from "../harness.ts";
import { urlSource } from "../../src/data/source.ts";
import { synthShards } from "../../src/data/synthetic.ts";
import { readTFRecords } from "../../src/data/tfrecord_reader.ts";

const [{ bytes: shard }] = await synthShards({ split: "val", size: 32, shards: 1, recordsPerShard: 10 });
const RECORDS = 10;

/** What the server does with request `index` (0 = the first) asking for bytes from `start`. */
interface Plan {
  status?: string;
  /** Header lines; content-length and content-range are written only when given here. */
  headers?: string[];
  body?: Uint8Array;
  /** Send only this many body bytes, then close (or stall). */
  send?: number;
  /** Hold the connection open without sending more (before the headers when `send` is -1). */
  stall?: boolean;
}

interface Server {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** The normal answer: 200 with the whole shard, or 206 with the rest and a correct Content-Range. */
function honest(start: number): Plan {
  const body = shard.subarray(start);
  const headers = [`content-length: ${body.length}`];
  if (start > 0) headers.push(`content-range: bytes ${start}-${shard.length - 1}/${shard.length}`);
  return { status: start > 0 ? "206 Partial Content" : "200 OK", headers, body };
}

function serve(script: (index: number, start: number) => Plan): Server {
  const requests: string[] = [];
  const open = new Set<Deno.Conn>();
  let release!: () => void;
  const closed = new Promise<void>((resolve) => release = resolve);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const encoder = new TextEncoder();
  const handle = async (conn: Deno.Conn) => {
    open.add(conn);
    try {
      let head = "";
      const buffer = new Uint8Array(4096);
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buffer);
        if (n === null) return;
        head += new TextDecoder().decode(buffer.subarray(0, n));
      }
      const range = /^range: bytes=(\d+)-/im.exec(head);
      requests.push(range ? `bytes=${range[1]}-` : "full");
      const plan = script(requests.length - 1, range ? Number(range[1]) : 0);
      if (plan.stall && plan.send === -1) return await closed;
      const lines = [`HTTP/1.1 ${plan.status ?? "200 OK"}`, ...(plan.headers ?? []), "connection: close", "", ""];
      await conn.write(encoder.encode(lines.join("\r\n")));
      const body = plan.body ?? new Uint8Array(0);
      const limit = Math.min(plan.send ?? body.length, body.length);
      for (let sent = 0; sent < limit;) sent += await conn.write(body.subarray(sent, limit));
      if (plan.stall) await closed;
    } catch {
      // The client went away.
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) handle(conn);
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/val-0.tfrecords`,
    requests,
    close: async () => {
      release();
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await accepting;
    },
  };
}

async function read(url: string, stallTimeoutMs = 5_000): Promise<number> {
  let n = 0;
  const source = urlSource(url, { retryDelayMs: 1, retries: 3, stallTimeoutMs });
  for await (const _ of readTFRecords(await source.open(), { shard: url })) n++;
  return n;
}

async function withServer(script: (index: number, start: number) => Plan, body: (server: Server) => Promise<void>): Promise<void> {
  const server = serve(script);
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
