/**
 * The one object that touches the GPU: device, buffer pool, pipeline cache, and a command batch
 * that records many dispatches into one submission. Every kernel's binding 0 is a small uniform
 * block of parameters, packed into one arena per submission (uniform, not storage: CPU adapters
 * load a uniform once for all SIMD lanes but a storage word lane by lane, which made per-element
 * index arithmetic several times slower); bind groups are kept for reuse (bind_groups.ts).
 */
import { BindGroupCache } from "./bind_groups.ts";
import { BufferPool, type MemoryStats } from "./buffer_pool.ts";
import { loadShaderSources, type ShaderName, type ShaderSources } from "./shader_sources.ts";
import { type AdapterReport, type DeviceOptions, openDevice } from "./webgpu.ts";
import { checkVariant, type KernelOp, type KernelPolicy, type KernelVariants, resolveKernelPolicy } from "./kernel_policy.ts";
import { Profiler } from "./profiler.ts";

export interface BackendOptions extends DeviceOptions {
  /** Kernel variants to use instead of the adapter's defaults, e.g. `{ matmul: "shared" }` (see kernel_policy.ts). */
  kernels?: Partial<KernelVariants>;
  /** Bytes of staging textures kept cached for reuse (default 256 MiB). */
  scratchLimitBytes?: number;
}

export interface Dispatch {
  shader: ShaderName;
  entry: string;
  /** WGSL `override` constants; each distinct set compiles (once) its own pipeline. */
  constants?: Record<string, number>;
  /** Packed parameter words for binding 0. */
  params: Uint32Array;
  /** Buffers (or texture views) for bindings 1..n, in order; null leaves out a binding the entry point does not use. */
  buffers: (GPUBuffer | GPUTextureView | null)[];
  /** Workgroup counts. */
  workgroups: [number, number?, number?];
}

/** Texel formats kernels stage data into (16 bytes per texel). */
export type ScratchFormat = "rgba32float";

export interface ScratchTexture {
  texture: GPUTexture;
  /** The whole texture as a 2-D array (what the kernels bind). */
  view: GPUTextureView;
  bytes: number;
}

/** A texture kept beside a tensor's storage (Storage.derived): live memory until disposed. */
export interface KeptTexture {
  view: GPUTextureView;
  bytes: number;
  dispose(): void;
}

export interface DeviceLostInfo {
  reason: string;
  message: string;
}

const PARAM_ARENA_BYTES = 1 << 18;
const MAX_DISPATCHES_PER_SUBMIT = 128;
/** Bytes of scratch textures kept for reuse by default, at most (see scratchTextures). */
const SCRATCH_LIMIT_BYTES = 256 << 20;

export class Backend {
  readonly pool: BufferPool;
  readonly limits: GPUSupportedLimits;
  /** The adapter, with the kernel policy chosen for it in `adapter.kernels`. */
  readonly adapter: AdapterReport;
  /** Set while a profile is open (src/profile.ts); null costs nothing. */
  profiler: Profiler | null = null;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly bindGroups: BindGroupCache;
  private readonly paramBuffer: GPUBuffer;
  private readonly paramArena = new Uint32Array(PARAM_ARENA_BYTES / 4);
  private readonly paramAlignWords: number;
  private paramWords = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private commands = 0;
  private stagingToDestroy: GPUBuffer[] = [];
  private readonly scratch = new Map<string, ScratchTexture>();
  private scratchBytes = 0;
  private retiredTextures: { texture: GPUTexture; retiredAt: number }[] = [];
  /** Kept textures whose tensors were freed, by size and format (see keptTexture). */
  private readonly freeKept = new Map<string, { texture: GPUTexture; view: GPUTextureView }[]>();
  private freeKeptBytes = 0;
  private readonly scratchLimitBytes: number;
  private submissions = 0;
  private firstError: string | null = null;
  private lostInfo: DeviceLostInfo | null = null;
  private readonly lostListeners: ((info: DeviceLostInfo) => void)[] = [];

  private constructor(
    readonly device: GPUDevice,
    adapter: Omit<AdapterReport, "kernels">,
    private readonly sources: ShaderSources,
    options: BackendOptions,
  ) {
    this.adapter = { ...adapter, kernels: resolveKernelPolicy(adapter.kind, options.kernels) };
    this.limits = device.limits;
    this.pool = new BufferPool(
      device,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    );
    this.paramBuffer = device.createBuffer({
      size: PARAM_ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.paramAlignWords = device.limits.minUniformBufferOffsetAlignment / 4;
    this.bindGroups = new BindGroupCache(device);
    this.scratchLimitBytes = options.scratchLimitBytes ?? SCRATCH_LIMIT_BYTES;
    device.addEventListener("uncapturederror", (event) => {
      this.firstError ??= (event as GPUUncapturedErrorEvent).error.message;
    });
    device.lost.then((info) => {
      this.lostInfo = { reason: info.reason, message: info.message };
      for (const listener of this.lostListeners) listener(this.lostInfo);
    });
  }

  static async create(options: BackendOptions = {}): Promise<Backend> {
    const [{ device, adapter }, sources] = await Promise.all([openDevice(options), loadShaderSources()]);
    return new Backend(device, adapter, sources, options);
  }

  /** The kernel policy (also reported as `adapter.kernels`). */
  get kernels(): KernelPolicy {
    return this.adapter.kernels;
  }

  /** The one way to change a variant after init (tests and benchmarks run each variant on one device). */
  setKernelVariant<O extends KernelOp>(op: O, variant: KernelVariants[O]): void {
    if (!(op in this.adapter.kernels.variants)) throw new Error(`setKernelVariant: unknown op "${op}"`);
    (this.adapter.kernels.variants as KernelVariants)[op] = checkVariant(op, variant);
  }

  /** Calls `listener` when the device is lost (driver reset, tab backgrounded, destroy()). */
  onDeviceLost(listener: (info: DeviceLostInfo) => void): void {
    this.lostListeners.push(listener);
    if (this.lostInfo) listener(this.lostInfo);
  }

  memory(): MemoryStats {
    return this.pool.stats();
  }

  private pipeline(shader: ShaderName, entry: string, constants: Record<string, number> | undefined): GPUComputePipeline {
    const key = constants ? `${shader}:${entry}:${JSON.stringify(constants)}` : `${shader}:${entry}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      const module = this.device.createShaderModule({ label: shader, code: this.sources[shader] });
      pipeline = this.device.createComputePipeline({
        label: `${shader}.${entry}`,
        layout: "auto",
        compute: { module, entryPoint: entry, constants },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  private checkUsable(): void {
    if (this.lostInfo) throw new Error(`WebGPU device lost (${this.lostInfo.reason}): ${this.lostInfo.message}`);
    if (this.firstError) {
      const message = this.firstError;
      this.firstError = null;
      throw new Error(`WebGPU error: ${message}`);
    }
  }

  private ensureEncoder(): GPUCommandEncoder {
    this.checkUsable();
    return this.encoder ??= this.device.createCommandEncoder();
  }

  /** Starts recording every dispatch (see Profiler); stopProfile() ends it. */
  startProfile(): Profiler {
    if (this.profiler) throw new Error("profile: a profile is already open on this device");
    this.flush();
    this.profiler = new Profiler(this.device, this.pool, MAX_DISPATCHES_PER_SUBMIT);
    return this.profiler;
  }

  /** Submits what was recorded and closes the open profile; the caller awaits its finish(). */
  stopProfile(): Profiler {
    const profiler = this.profiler;
    if (!profiler) throw new Error("profile: no profile is open");
    this.flush();
    this.profiler = null;
    return profiler;
  }

  dispatch(d: Dispatch): void {
    const aligned = Math.ceil(d.params.length / this.paramAlignWords) * this.paramAlignWords || this.paramAlignWords;
    if (this.paramWords + aligned > this.paramArena.length || this.commands >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
    const offsetWords = this.paramWords;
    this.paramArena.set(d.params, offsetWords);
    this.paramWords += aligned;

    const pipeline = this.pipeline(d.shader, d.entry, d.constants);
    // A uniform block's size is a multiple of 16 bytes; the arena's alignment leaves room for it.
    const bindGroup = this.bindGroups.get(pipeline, this.paramBuffer, offsetWords * 4, Math.ceil(Math.max(d.params.length, 1) / 4) * 16, d.buffers);
    const encoder = this.ensureEncoder();
    if (this.profiler) {
      // Profiled dispatches run one per compute pass, so timestamps can bracket each.
      const bound = d.buffers.reduce((bytes, r) => bytes + (r instanceof GPUBuffer ? r.size : 0), 0);
      this.endPass();
      this.pass = encoder.beginComputePass(this.profiler.dispatchPass(`${d.shader}.${d.entry}`, bound));
    }
    this.pass ??= encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = d.workgroups;
    this.pass.dispatchWorkgroups(x, y, z);
    this.commands++;
  }

  /** Copies host data into `buffer`, ordered after every dispatch recorded so far. */
  upload(buffer: GPUBuffer, data: ArrayBufferView): void {
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    if (!this.encoder) {
      this.checkUsable();
      this.device.queue.writeBuffer(buffer, 0, bytes);
      return;
    }
    const size = Math.ceil(bytes.byteLength / 4) * 4;
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    new Uint8Array(staging.getMappedRange()).set(bytes);
    staging.unmap();
    this.endPass();
    this.encoder.copyBufferToBuffer(staging, 0, buffer, 0, size);
    this.stagingToDestroy.push(staging);
    this.commands++;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    this.profiler?.resolve(this.encoder);
    if (this.paramWords > 0) this.device.queue.writeBuffer(this.paramBuffer, 0, this.paramArena, 0, this.paramWords);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.paramWords = 0;
    this.commands = 0;
    for (const staging of this.stagingToDestroy) staging.destroy();
    this.stagingToDestroy = [];
    this.submissions++;
    // An op may hold a retired texture across one automatic flush, never two: destroy after that.
    const keep = this.retiredTextures.filter(({ retiredAt }) => this.submissions - retiredAt < 2);
    for (const { texture, retiredAt } of this.retiredTextures) if (this.submissions - retiredAt >= 2) texture.destroy();
    this.retiredTextures = keep;
  }

  /** Reads `bytes` bytes of `buffer` back to the host. */
  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const encoder = this.ensureEncoder();
    this.endPass();
    const staging = this.device.createBuffer({ size: Math.max(size, 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    if (size > 0) encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ).catch((e) => this.explainLoss(e));
      this.checkUsable();
      return staging.getMappedRange(0, size).slice(0, bytes);
    } finally {
      staging.destroy();
    }
  }

  /**
   * A read that failed because the device went away rejects with a bare "validation error" or
   * "OperationError"; the lost promise settles a moment later. Waits that moment, then names the loss.
   */
  private async explainLoss(error: unknown): Promise<never> {
    if (!this.lostInfo) await Promise.race([this.device.lost, new Promise((resolve) => setTimeout(resolve, 100))]);
    if (this.lostInfo) this.checkUsable();
    throw error;
  }

  /** Resolves when the GPU has finished all submitted work; surfaces any WebGPU error. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.checkUsable();
  }

  /**
   * 2-D array textures for data that lives only within recorded commands (e.g. matmul operands
   * staged as texels), one per request, kept per role and size and reused: the queue orders a
   * later write after earlier reads, so reuse needs no waiting. Past the scratch limit the cache
   * is emptied first; textures handed out before stay valid for the op using them (releaseScratch).
   */
  scratchTextures(format: ScratchFormat, requests: { role: string; size: [number, number, number] }[]): ScratchTexture[] {
    const keys = requests.map(({ role, size }) => `${role}:${size.join("x")}:${format}`);
    const missing = requests.filter((_, i) => !this.scratch.has(keys[i]));
    const needed = missing.reduce((total, { size: [w, h, l] }) => total + w * h * l * 16, 0);
    if (this.scratchBytes + needed > this.scratchLimitBytes) this.releaseScratch();
    return requests.map(({ size: [width, height, layers] }, i) => {
      const cached = this.scratch.get(keys[i]);
      if (cached) return cached;
      const texture = this.device.createTexture({
        label: keys[i],
        size: [width, height, layers],
        format,
        usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
      });
      const scratch = { texture, view: texture.createView({ dimension: "2d-array" }), bytes: width * height * layers * 16 };
      this.scratch.set(keys[i], scratch);
      this.scratchBytes += scratch.bytes;
      return scratch;
    });
  }

  /** One scratch texture (see scratchTextures; an op that needs several must request them together). */
  scratchTexture(role: string, size: [number, number, number], format: ScratchFormat): ScratchTexture {
    return this.scratchTextures(format, [{ role, size }])[0];
  }

  /**
   * A texture for a value derived from a tensor's contents (e.g. packed weights), owned by the
   * caller rather than the scratch cache: counted in the pool's live bytes and liveTextures until
   * disposed. Then it waits, counted as pooled, to be handed out again for the same size and
   * format (a training step packs new weights of the old ones' shapes), as a freed buffer does:
   * the queue orders the next owner's writes after the reads already recorded. Past the scratch
   * limit of such free textures it is destroyed instead, two submissions later.
   */
  keptTexture(label: string, size: [number, number, number], format: ScratchFormat): KeptTexture {
    const key = `${size.join("x")}:${format}`;
    const bytes = size[0] * size[1] * size[2] * 16;
    const recycled = this.freeKept.get(key)?.pop();
    if (recycled) this.freeKeptBytes -= bytes;
    // COPY_DST as for scratch textures: without it, on lavapipe in Deno, every profiled pass of
    // a submission binding the texture reported about zero GPU time.
    const usage = GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST;
    const texture = recycled?.texture ?? this.device.createTexture({ label: `kept ${key}`, size, format, usage });
    // A recycled texture keeps its view, so bind groups cached with it still apply (its label
    // names the first value kept in it).
    const view = recycled?.view ?? texture.createView({ label, dimension: "2d-array" });
    this.pool.holdTexture(bytes, recycled !== undefined);
    let disposed = false;
    return {
      view,
      bytes,
      dispose: () => {
        if (disposed) return;
        disposed = true;
        const keep = this.freeKeptBytes + bytes <= this.scratchLimitBytes;
        this.pool.releaseTexture(bytes, keep);
        if (!keep) {
          this.retiredTextures.push({ texture, retiredAt: this.submissions });
          return;
        }
        let free = this.freeKept.get(key);
        if (!free) this.freeKept.set(key, free = []);
        free.push({ texture, view });
        this.freeKeptBytes += bytes;
      },
    };
  }

  /**
   * Drops every cached scratch texture from the cache. A texture already handed out may still be
   * bound by a dispatch its op has yet to record, so it is destroyed only two submissions later.
   */
  private releaseScratch(): void {
    for (const { texture } of this.scratch.values()) this.retiredTextures.push({ texture, retiredAt: this.submissions });
    this.scratch.clear();
    this.scratchBytes = 0;
  }

  /** Copies `size` texels from `buffer` (rows of `bytesPerRow`) into `texture` at `origin` [x, y], in recorded order. */
  copyToTexture(
    buffer: GPUBuffer, texture: GPUTexture, bytesPerRow: number, size: [number, number, number], origin: [number, number] = [0, 0],
  ): void {
    const encoder = this.ensureEncoder();
    this.endPass();
    encoder.copyBufferToTexture({ buffer, bytesPerRow, rowsPerImage: size[1] }, { texture, origin: [origin[0], origin[1], 0] }, size);
    this.commands++;
  }

  /** Copies `bytes` from `src` at `srcOffset` to `dst` at `dstOffset` (multiples of 4), in recorded order. */
  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    const encoder = this.ensureEncoder();
    this.endPass();
    encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.commands++;
  }

  /** Zeroes `bytes` of `buffer` from `offset` (multiples of 4), in recorded order. */
  clearBuffer(buffer: GPUBuffer, offset: number, bytes: number): void {
    if (bytes === 0) return;
    const encoder = this.ensureEncoder();
    this.endPass();
    encoder.clearBuffer(buffer, offset, bytes);
    this.commands++;
  }

  destroy(): void {
    this.flush();
    this.bindGroups.clear();
    this.releaseScratch();
    for (const { texture } of this.retiredTextures) texture.destroy();
    for (const free of this.freeKept.values()) for (const { texture } of free) texture.destroy();
    this.pool.trim();
    this.paramBuffer.destroy();
    this.device.destroy();
  }
}

/** Workgroup counts for `total` threads in groups of `size`, folded into 2-D past the per-dimension cap. */
export function grid1d(total: number, size = 256, maxPerDim = 65535): [number, number] {
  const groups = Math.max(1, Math.ceil(total / size));
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}
