// A raw HTTP/1.1 server on 127.0.0.1 for the URL tests, so that a cut is a real closed socket and a
// stall a real silent one: each request is answered by a script from its index and Range start.

/** What the server does with request `index` (0 = the first) asking for bytes from `start`. */
export interface Plan {
  status?: string;
  /** Header lines; content-length and content-range are written only when given here. */
  headers?: string[];
  body?: Uint8Array;
  /** Send only this many body bytes, then close (or stall). */
  send?: number;
  /** Hold the connection open without sending more (before the headers when `send` is -1). */
  stall?: boolean;
}

export interface RawServer {
  url: string;
  /** "full" or "bytes=N-" per request, in order. */
  requests: string[];
  close(): Promise<void>;
}

export function rawServer(script: (index: number, start: number) => Plan, path = "/val-0.tfrecords"): RawServer {
  const requests: string[] = [];
  const open = new Set<Deno.Conn>();
  let release!: () => void;
  const closed = new Promise<void>((resolve) => release = resolve);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const encoder = new TextEncoder();
  const close = (conn: Deno.Conn) => {
    try {
      conn.close();
    } catch { /* already closed */ }
  };
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
      close(conn);
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) handle(conn);
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}${path}`,
    requests,
    close: async () => {
      release();
      listener.close();
      for (const conn of open) close(conn);
      await accepting;
    },
  };
}

/** The honest answer for `bytes`: 200 with all of it, or 206 with the rest and a correct Content-Range. */
export function honest(bytes: Uint8Array, start: number): Plan {
  const body = bytes.subarray(start);
  const headers = [`content-length: ${body.length}`];
  if (start > 0) headers.push(`content-range: bytes ${start}-${bytes.length - 1}/${bytes.length}`);
  return { status: start > 0 ? "206 Partial Content" : "200 OK", headers, body };
}
