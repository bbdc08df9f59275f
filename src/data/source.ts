// Byte sources: where a shard's bytes come from. Each opens a fresh stream per pass.

export interface ByteSource {
  /** Path, URL or file name: what errors and reports call the shard. */
  name: string;
  open(): Promise<ReadableStream<Uint8Array>>;
}

/** A Blob or a File from a file picker (browser), or any in-memory shard. */
export function blobSource(blob: Blob, name = (blob as File).name ?? "blob"): ByteSource {
  return { name, open: () => Promise.resolve(blob.stream() as ReadableStream<Uint8Array>) };
}

export function bytesSource(bytes: Uint8Array, name: string): ByteSource {
  return blobSource(new Blob([bytes as BlobPart]), name);
}

export interface UrlSourceOptions {
  /** Attempts in a row without new bytes before giving up (a dropped connection resumes with Range). */
  retries?: number;
  /** Wait before retry k is retryDelayMs·2^k. */
  retryDelayMs?: number;
  /** A connection that sends nothing (headers or body bytes) for this long is dropped and resumed. */
  stallTimeoutMs?: number;
  fetch?: typeof fetch;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection after `ms` without it settling (and `onStall` is called, to abort it). */
function unlessStalled<T>(promise: Promise<T>, ms: number, onStall: () => void): Promise<T> {
  promise.catch(() => {}); // it may reject after the timeout has already answered
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onStall();
      reject(new Error(`no bytes for ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, stalled]).finally(() => clearTimeout(timer));
}

/**
 * A URL read through fetch streams. When the connection drops (an error, fewer bytes than
 * Content-Length, or nothing for `stallTimeoutMs`) the source asks for the rest with
 * `Range: bytes=<received>-`, checking that the answer's Content-Range starts there and that the
 * file kept its size; up to `retries` attempts in a row without progress, then it fails naming the
 * URL and the byte offset. Bytes past the announced size are an error, never passed on.
 */
export function urlSource(url: string, options: UrlSourceOptions = {}): ByteSource {
  const retries = options.retries ?? 4;
  const retryDelayMs = options.retryDelayMs ?? 250;
  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  return {
    name: url,
    open() {
      let received = 0;
      let total: number | undefined;
      let body: ReadableStreamDefaultReader<Uint8Array> | undefined;
      let connection: AbortController | undefined;
      let failures = 0;
      let lastError = "";
      // Bytes already read from a resumed response that ignored Range, still to be delivered.
      let pendingHead: Uint8Array | undefined;

      const drop = () => {
        connection?.abort();
        body?.cancel().catch(() => {});
        body = undefined;
      };
      const timed = <T>(promise: Promise<T>) => unlessStalled(promise, stallTimeoutMs, drop);

      /** The size the whole file must have, from a resumed response's Content-Range. */
      function checkContentRange(response: Response): void {
        const header = response.headers.get("content-range") ?? "";
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
        if (!range || Number(range[1]) !== received) {
          throw new Error(`asked for bytes from ${received}, got Content-Range ${JSON.stringify(header.slice(0, 60))}`);
        }
        const size = range[3] === "*" ? undefined : Number(range[3]);
        if (size !== undefined && total !== undefined && size !== total) {
          throw new FatalHttpError(`${url}: the file changed from ${total} to ${size} bytes while being read (at byte ${received})`);
        }
        total ??= size;
      }

      async function connect(): Promise<void> {
        const headers: HeadersInit = received > 0 ? { Range: `bytes=${received}-` } : {};
        connection = new AbortController();
        const response = await timed(fetchFn(url, { headers, signal: connection.signal }));
        if (response.status === 404 || response.status === 403 || response.status === 410 || response.status === 416) {
          await response.body?.cancel();
          throw new FatalHttpError(`${url}: HTTP ${response.status} ${response.statusText}`);
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`);
        // With a Content-Encoding, Content-Length counts encoded bytes: no length check then.
        const encoded = response.headers.has("content-encoding");
        const length = encoded ? NaN : Number(response.headers.get("content-length") ?? NaN);
        if (response.status === 206) checkContentRange(response);
        if (received > 0 && response.status === 200) {
          // The server ignored Range: read past the bytes already delivered.
          if (Number.isFinite(length) && total !== undefined && length !== total) {
            throw new FatalHttpError(`${url}: the file changed from ${total} to ${length} bytes while being read (at byte ${received})`);
          }
          total = Number.isFinite(length) ? length : total;
          body = response.body.getReader();
          let toSkip = received;
          while (toSkip > 0) {
            const { value, done } = await timed(body.read());
            if (done) throw new Error("resumed response ended early");
            if (value.length > toSkip) {
              pendingHead = value.subarray(toSkip);
              toSkip = 0;
            } else toSkip -= value.length;
          }
          return;
        }
        if (total === undefined && Number.isFinite(length)) total = received + length;
        body = response.body.getReader();
      }

      return Promise.resolve(new ReadableStream<Uint8Array>({
        async pull(controller) {
          while (true) {
            try {
              if (pendingHead) {
                const head = pendingHead;
                pendingHead = undefined;
                received += head.length;
                failures = 0;
                return controller.enqueue(head);
              }
              if (!body) await connect();
              if (pendingHead) continue;
              const { value, done } = await timed(body!.read());
              if (done) {
                if (total !== undefined && received < total) throw new Error(`connection closed after ${received} of ${total} bytes`);
                return controller.close();
              }
              if (value.length === 0) continue;
              if (total !== undefined && received + value.length > total) {
                throw new FatalHttpError(`${url}: the server sent more than the ${total} bytes it announced (at byte ${received})`);
              }
              received += value.length;
              failures = 0;
              return controller.enqueue(value);
            } catch (e) {
              drop();
              if (e instanceof FatalHttpError) throw e;
              lastError = e instanceof Error ? e.message : String(e);
              if (++failures > retries) {
                throw new Error(`${url}: gave up at byte ${received} after ${failures} failed attempts: ${lastError}`);
              }
              await sleep(retryDelayMs * 2 ** (failures - 1));
            }
          }
        },
        cancel() {
          drop();
        },
      }));
    },
  };
}

class FatalHttpError extends Error {}
