/**
 * Size-classed pool of storage buffers. Freed buffers go back to a free list of their class and
 * are handed out again, so a training loop stops allocating after its first step. Of the free
 * buffers of a class, the one made first is handed out: which buffer a request gets then depends
 * only on which buffers are free, not on the order they were freed in, so a training step soon
 * binds the same buffers as the step before it (whose bind groups the backend keeps).
 */

/** Classes are 2^k·{1, 1.25, 1.5, 1.75}: at most 25% slack, few distinct sizes. */
export function sizeClass(bytes: number): number {
  const minimum = 256;
  if (bytes <= minimum) return minimum;
  const power = 2 ** Math.floor(Math.log2(bytes));
  for (const step of [1, 1.25, 1.5, 1.75, 2]) {
    const size = power * step;
    if (size >= bytes) return Math.ceil(size / 4) * 4;
  }
  return power * 2;
}

export interface MemoryStats {
  /** Bytes of buffers currently held by live tensors, and of textures kept beside them (holdTexture). */
  liveBytes: number;
  /** Highest liveBytes since creation or the last resetPeak(). */
  peakBytes: number;
  /** Bytes of free buffers kept for reuse. */
  pooledBytes: number;
  /** Buffers held by live tensors. */
  liveBuffers: number;
  /** Bytes of the largest buffer handed out since creation or the last resetPeak(). */
  largestBuffer: number;
  /** Textures kept beside live tensors (e.g. a convolution's packed weights), counted in liveBytes. */
  liveTextures: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Each buffer's size class and creation number (free lists are sorted by it, first made last). */
  private readonly made = new WeakMap<GPUBuffer, { size: number; order: number }>();
  private buffersMade = 0;
  private live = 0;
  private peak = 0;
  private pooled = 0;
  private liveCount = 0;
  private windowPeak = 0;
  private largest = 0;
  private textures = 0;

  constructor(private readonly device: GPUDevice, private readonly usage: GPUBufferUsageFlags) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.pooled -= size;
    } else {
      buffer = this.device.createBuffer({ size, usage: this.usage });
      this.made.set(buffer, { size, order: this.buffersMade++ });
    }
    this.grow(size);
    this.liveCount++;
    this.largest = Math.max(this.largest, size);
    return buffer;
  }

  /**
   * Counts a texture kept beside a tensor (the backend makes and recycles those) as live memory;
   * `recycled` if it comes from the backend's free textures, which count as pooled.
   */
  holdTexture(bytes: number, recycled: boolean): void {
    this.textures++;
    if (recycled) this.pooled -= bytes;
    this.grow(bytes);
  }

  /** The tensor let go of its texture; `kept` if the backend keeps it for reuse (pooled). */
  releaseTexture(bytes: number, kept: boolean): void {
    this.textures--;
    this.live -= bytes;
    if (kept) this.pooled += bytes;
  }

  private grow(bytes: number): void {
    this.live += bytes;
    this.peak = Math.max(this.peak, this.live);
    this.windowPeak = Math.max(this.windowPeak, this.live);
  }

  release(buffer: GPUBuffer): void {
    const made = this.made.get(buffer);
    if (made === undefined) throw new Error("BufferPool.release: buffer does not belong to this pool");
    const { size, order } = made;
    this.live -= size;
    this.liveCount--;
    this.pooled += size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, list = []);
    // Binary search for the place that keeps the list sorted by creation, latest first.
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.made.get(list[middle])!.order > order) low = middle + 1;
      else high = middle;
    }
    list.splice(low, 0, buffer);
  }

  /** Destroys every pooled (free) buffer, returning their memory to the driver. */
  trim(): void {
    for (const list of this.free.values()) for (const buffer of list) buffer.destroy();
    this.free.clear();
    this.pooled = 0;
  }

  /** Highest liveBytes since the previous call (the profiler's per-phase peak; peakBytes is untouched). */
  takeWindowPeak(): number {
    const peak = this.windowPeak;
    this.windowPeak = this.live;
    return peak;
  }

  resetPeak(): void {
    this.peak = this.live;
    this.largest = 0;
  }

  stats(): MemoryStats {
    return { liveBytes: this.live, peakBytes: this.peak, pooledBytes: this.pooled, liveBuffers: this.liveCount, largestBuffer: this.largest, liveTextures: this.textures };
  }
}
