/**
 * The GPU buffer behind a tensor and its views. It remembers the backend that made it, so it
 * returns to that backend's pool (and reads through that device) whichever backend is current.
 *
 * Tensors are immutable, so a buffer's contents never change while a Storage holds it: values
 * computed from them (BatchNorm's statistics, a convolution's packed weights) can be kept beside
 * it (`derived`) and are freed when the buffer returns to the pool.
 */
import type { Backend } from "./backend/backend.ts";

/** Something kept beside a storage and freed with it. */
export interface Disposable {
  dispose(): void;
}

export class Storage {
  readonly buffer: GPUBuffer;
  private refs = 1;
  private derivedValues: Map<string, Disposable> | null = null;

  constructor(private readonly backend: Backend, readonly byteSize: number) {
    this.buffer = backend.pool.acquire(Math.max(byteSize, 4));
  }

  /** One more tensor (a view) shares this buffer. */
  share(): this {
    this.refs++;
    return this;
  }

  /** One sharer lets go; the last one frees the derived values and returns the buffer to the pool. */
  release(): void {
    if (--this.refs !== 0) return;
    const derived = this.derivedValues;
    this.derivedValues = null;
    if (derived) for (const value of derived.values()) value.dispose();
    this.backend.pool.release(this.buffer);
  }

  /**
   * The value stored under `key` (which must name everything besides the contents that the value
   * depends on, e.g. the shape it was read as), made by `make` on first use. The storage owns it:
   * callers must not dispose it, and must not hand it out where someone else could.
   */
  derived<T extends Disposable>(key: string, make: () => T): T {
    const cached = this.derivedValues?.get(key);
    if (cached) return cached as T;
    const value = make();
    (this.derivedValues ??= new Map()).set(key, value);
    return value;
  }

  /** The value stored under `key`, if one was made (see derived). */
  find<T extends Disposable>(key: string): T | undefined {
    return this.derivedValues?.get(key) as T | undefined;
  }

  read(bytes: number): Promise<ArrayBuffer> {
    return this.backend.read(this.buffer, bytes);
  }
}
