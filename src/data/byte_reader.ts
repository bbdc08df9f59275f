// Pulls exact byte counts out of a ReadableStream of arbitrary chunks, holding only what the caller
// has asked for but not yet consumed, and counting the offset for error messages.

export class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #done = false;
  /** Bytes consumed so far: the stream offset of the next byte `read` returns. */
  offset = 0;
  /** Set once the underlying stream has errored (here or through `rest()`). */
  failed = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Buffers until `n` bytes are available or the stream ends; returns how many are available. */
  async fill(n: number): Promise<number> {
    while (this.#buffered < n && !this.#done) {
      const { value, done } = await this.#pull();
      if (done) this.#done = true;
      else if (value.length > 0) {
        this.#chunks.push(value);
        this.#buffered += value.length;
      }
    }
    return Math.min(this.#buffered, n);
  }

  /** Copies the next `n` buffered bytes without consuming them (call `fill(n)` first). */
  peek(n: number): Uint8Array {
    const out = new Uint8Array(Math.min(n, this.#buffered));
    let filled = 0;
    for (const chunk of this.#chunks) {
      if (filled === out.length) break;
      const take = Math.min(chunk.length, out.length - filled);
      out.set(chunk.subarray(0, take), filled);
      filled += take;
    }
    return out;
  }

  /** Reads exactly `n` bytes, or fewer only when the stream ends first. */
  async read(n: number): Promise<Uint8Array> {
    await this.fill(n);
    const out = this.peek(n);
    this.#drop(out.length);
    return out;
  }

  /** Discards up to `n` bytes without keeping them; returns how many were discarded. */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      if (this.#buffered === 0 && (await this.fill(1)) === 0) break;
      const take = Math.min(this.#buffered, n - skipped);
      this.#drop(take);
      skipped += take;
    }
    return skipped;
  }

  /** The unread rest (buffered bytes first) as a stream, for piping through a decompressor. */
  rest(): ReadableStream<Uint8Array> {
    const pending = this.#chunks.splice(0);
    this.#buffered = 0;
    const finished = this.#done;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const next = pending.shift();
        if (next) return controller.enqueue(next);
        if (finished) return controller.close();
        const { value, done } = await this.#pull();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => this.#reader.cancel(reason),
    });
  }

  async cancel(): Promise<void> {
    this.#chunks = [];
    this.#buffered = 0;
    await this.#reader.cancel().catch(() => {});
  }

  async #pull(): Promise<ReadableStreamReadResult<Uint8Array>> {
    try {
      return await this.#reader.read();
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  #drop(n: number): void {
    this.offset += n;
    this.#buffered -= n;
    while (n > 0) {
      const head = this.#chunks[0];
      if (head.length <= n) {
        n -= head.length;
        this.#chunks.shift();
      } else {
        this.#chunks[0] = head.subarray(n);
        n = 0;
      }
    }
  }
}
