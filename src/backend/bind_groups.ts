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

export class BindGroupCache {
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<GPUBuffer | GPUTextureView, number>();
  private nextId = 0;

  constructor(private readonly device: GPUDevice) {}

  /**
   * The bind group of `pipeline` (named `pipelineKey`) binding `params`' words at `offsetBytes`
   * (`sizeBytes` long) to binding 0 and `resources` to bindings 1..n.
   */
  get(
    pipelineKey: string,
    pipeline: GPUComputePipeline,
    params: GPUBuffer,
    offsetBytes: number,
    sizeBytes: number,
    resources: readonly (GPUBuffer | GPUTextureView)[],
  ): GPUBindGroup {
    let key = `${pipelineKey}|${offsetBytes}|${sizeBytes}`;
    for (const r of resources) key += `|${this.idOf(r)}`;
    let group = this.groups.get(key);
    if (!group) {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: params, offset: offsetBytes, size: sizeBytes } }];
      for (let i = 0; i < resources.length; i++) {
        const r = resources[i];
        entries.push({ binding: i + 1, resource: r instanceof GPUBuffer ? { buffer: r } : r });
      }
      group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      if (this.groups.size >= MAX_BIND_GROUPS) this.groups.clear();
      this.groups.set(key, group);
    }
    return group;
  }

  /** Forgets every bind group (when the device goes away). */
  clear(): void {
    this.groups.clear();
  }

  private idOf(resource: GPUBuffer | GPUTextureView): number {
    let id = this.ids.get(resource);
    if (id === undefined) this.ids.set(resource, id = this.nextId++);
    return id;
  }
}
