/**
 * Bind groups kept for reuse. Creating one costs tens of microseconds of host time in Deno (and
 * grows with its entries), about as much as everything else a dispatch records; a training step
 * binds the same pipelines to the same buffers at the same parameter offsets step after step
 * (the buffer pool hands buffers out in a fixed order, see BufferPool.acquire), so most of its
 * bind groups can be the previous steps' ones.
 *
 * No cached bind group outlives its use: the pool's buffers are destroyed only with the backend,
 * and a texture is destroyed only once no tensor or cache hands out its view any more (a kept
 * texture is recycled with its view, see Backend.keptTexture), so no later dispatch names it.
 */

/** Past this many bind groups the cache starts over (a step of ViT-Ti binds about 3400). */
const MAX_BIND_GROUPS = 16384;

/**
 * A trie over what a bind group binds, one level per part: pipeline, parameter buffer, offset and
 * size, then each resource. Maps keyed by the objects themselves need no string per lookup.
 */
type Level = Map<unknown, Level | GPUBindGroup>;

export class BindGroupCache {
  private root: Level = new Map();
  private count = 0;

  constructor(private readonly device: GPUDevice) {}

  /**
   * The bind group of `pipeline` binding `params`' words at `offsetBytes` (`sizeBytes` long) to
   * binding 0 and `resources` to bindings 1..n (a null one is left out).
   */
  get(
    pipeline: GPUComputePipeline,
    params: GPUBuffer,
    offsetBytes: number,
    sizeBytes: number,
    resources: readonly (GPUBuffer | GPUTextureView | null)[],
  ): GPUBindGroup {
    if (this.count >= MAX_BIND_GROUPS) this.clear();
    // A pipeline's bind groups all have as many resources, so a level is all levels or all groups.
    let level = this.child(this.child(this.child(this.child(this.root, pipeline), params), offsetBytes), sizeBytes);
    for (let i = 0; i < resources.length - 1; i++) level = this.child(level, resources[i]);
    const last = resources.length > 0 ? resources[resources.length - 1] : null;
    const cached = level.get(last) as GPUBindGroup | undefined;
    if (cached) return cached;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: params, offset: offsetBytes, size: sizeBytes } }];
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i];
      if (r !== null) entries.push({ binding: i + 1, resource: r instanceof GPUBuffer ? { buffer: r } : r });
    }
    const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    level.set(last, group);
    this.count++;
    return group;
  }

  /** Forgets every bind group (when the device goes away, or the cache is full). */
  clear(): void {
    this.root = new Map();
    this.count = 0;
  }

  private child(level: Level, key: unknown): Level {
    let next = level.get(key) as Level | undefined;
    if (!next) level.set(key, next = new Map());
    return next;
  }
}
