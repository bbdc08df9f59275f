/**
 * The GPU buffer behind a tensor and its views. It remembers the backend that made it, so it
 * returns to that backend's pool (and reads through that device) whichever backend is current.
 */
import type { Backend } from "./backend/backend.ts";

export class Storage {
  readonly buffer: GPUBuffer;
  private refs = 1;

  constructor(private readonly backend: Backend, readonly byteSize: number) {
    this.buffer = backend.pool.acquire(Math.max(byteSize, 4));
  }

  /** One more tensor (a view) shares this buffer. */
  share(): this {
    this.refs++;
    return this;
  }

  /** One sharer lets go; the last one returns the buffer to the pool. */
  release(): void {
    if (--this.refs === 0) this.backend.pool.release(this.buffer);
  }

  read(bytes: number): Promise<ArrayBuffer> {
    return this.backend.read(this.buffer, bytes);
  }
}
