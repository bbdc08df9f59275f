/**
 * Records what runs while a profile is open: every dispatch with the primitive and phase it
 * belongs to, its kernel ("shader.entry", so the kernel variant shows in the name) and the bytes
 * it binds; the CPU time spent recording each primitive and the bytes of its output; and, per
 * phase, the live and peak bytes of the buffer pool. Where the device has "timestamp-query" each
 * dispatch runs in its own compute pass with timestamps written around it, which gives its GPU
 * time; otherwise GPU time is known only for the whole profile (the caller's final sync).
 */
import type { BufferPool } from "./buffer_pool.ts";
import type { KernelRow, PhaseRow, PrimitiveRow, ProfileReport } from "./profile_report.ts";

/** Dispatches not issued by a primitive (uploads' fills, optimizer bookkeeping, …). */
export const OUTSIDE_PRIMITIVES = "(outside primitives)";
/** The phase before the first markPhase(). */
export const UNMARKED_PHASE = "(unmarked)";

interface DispatchRecord {
  primitive: string;
  phase: string;
  kernel: string;
  boundBytes: number;
  gpuNs?: number;
}

interface PhaseState extends PhaseRow {
  startedAt: number;
}

/** Timestamps of one submission, read back when the profile ends. */
interface PendingTimestamps {
  resolve: GPUBuffer;
  read: GPUBuffer;
  records: DispatchRecord[];
}

export class Profiler {
  readonly timestamps: boolean;
  private readonly records: DispatchRecord[] = [];
  private readonly primitives = new Map<string, PrimitiveRow>();
  private readonly phases: PhaseState[] = [];
  private primitive = OUTSIDE_PRIMITIVES;
  private primitiveStartedAt = 0;
  private readonly startedAt = performance.now();
  private querySet: GPUQuerySet | null = null;
  /** Dispatches of the submission being recorded that carry timestamps. */
  private timed: DispatchRecord[] = [];
  private readonly pending: PendingTimestamps[] = [];

  constructor(private readonly device: GPUDevice, private readonly pool: BufferPool, private readonly maxDispatchesPerSubmit: number) {
    this.timestamps = device.features.has("timestamp-query");
    pool.takeWindowPeak();
    this.phases.push(this.newPhase(UNMARKED_PHASE));
  }

  private newPhase(name: string): PhaseState {
    const live = this.pool.stats().liveBytes;
    return { name, cpuMs: 0, startLiveBytes: live, peakBytes: live, endLiveBytes: live, startedAt: performance.now() };
  }

  private closePhase(): void {
    const phase = this.phases[this.phases.length - 1];
    phase.cpuMs += performance.now() - phase.startedAt;
    phase.peakBytes = Math.max(phase.peakBytes, this.pool.takeWindowPeak());
    phase.endLiveBytes = this.pool.stats().liveBytes;
  }

  /** Starts phase `name`; dispatches and allocations from now on count towards it. */
  markPhase(name: string): void {
    this.closePhase();
    this.phases.push(this.newPhase(name));
  }

  enterPrimitive(name: string): void {
    this.primitive = name;
    this.primitiveStartedAt = performance.now();
  }

  leavePrimitive(outputBytes: number): void {
    const row = this.primitives.get(this.primitive) ?? { name: this.primitive, calls: 0, cpuMs: 0, outputBytes: 0 };
    row.calls++;
    row.cpuMs += performance.now() - this.primitiveStartedAt;
    row.outputBytes += outputBytes;
    this.primitives.set(this.primitive, row);
    this.primitive = OUTSIDE_PRIMITIVES;
  }

  /** Records a dispatch; returns the descriptor of the compute pass it must run in alone. */
  dispatchPass(kernel: string, boundBytes: number): GPUComputePassDescriptor {
    const record: DispatchRecord = { primitive: this.primitive, phase: this.phases[this.phases.length - 1].name, kernel, boundBytes };
    this.records.push(record);
    if (!this.timestamps) return {};
    this.querySet ??= this.device.createQuerySet({ type: "timestamp", count: 2 * this.maxDispatchesPerSubmit });
    const index = 2 * this.timed.length;
    this.timed.push(record);
    return { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 } };
  }

  /** Before a submission is finished: copies its timestamps to a buffer read when the profile ends. */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.querySet || this.timed.length === 0) return;
    const bytes = this.timed.length * 16;
    const resolve = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const read = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * this.timed.length, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, bytes);
    this.pending.push({ resolve, read, records: this.timed });
    this.timed = [];
  }

  /** Reads the timestamps back (after everything was submitted and finished) and builds the report. */
  async finish(adapter: string): Promise<ProfileReport> {
    this.closePhase();
    const wallMs = performance.now() - this.startedAt;
    for (const { resolve, read, records } of this.pending) {
      await read.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(read.getMappedRange());
      records.forEach((record, i) => (record.gpuNs = Number(stamps[2 * i + 1] - stamps[2 * i])));
      read.destroy();
      resolve.destroy();
    }
    this.querySet?.destroy();
    const timed = this.timestamps;
    const gpuMs = (records: DispatchRecord[]) => (timed ? records.reduce((ms, r) => ms + (r.gpuNs ?? 0) / 1e6, 0) : undefined);
    const byKey = (key: (r: DispatchRecord) => string) => {
      const groups = new Map<string, DispatchRecord[]>();
      for (const r of this.records) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
      return groups;
    };
    const dispatchesOf = byKey((r) => r.primitive);
    const primitives = [...this.primitives.values()].map((row) => ({ ...row, gpuMs: gpuMs(dispatchesOf.get(row.name) ?? []) }));
    const outside = dispatchesOf.get(OUTSIDE_PRIMITIVES);
    if (outside) primitives.push({ name: OUTSIDE_PRIMITIVES, calls: 0, cpuMs: 0, outputBytes: 0, gpuMs: gpuMs(outside) });
    const kernels: KernelRow[] = [...byKey((r) => r.kernel)].map(([name, records]) => ({
      name,
      dispatches: records.length,
      boundBytes: records.reduce((b, r) => b + r.boundBytes, 0),
      gpuMs: gpuMs(records),
    }));
    const phaseDispatches = byKey((r) => r.phase);
    // A phase marked again (the next step's forward) adds to its first row.
    const phaseRows = new Map<string, PhaseRow>();
    for (const { startedAt: _, ...phase } of this.phases) {
      const row = phaseRows.get(phase.name);
      if (!row) phaseRows.set(phase.name, { ...phase, gpuMs: gpuMs(phaseDispatches.get(phase.name) ?? []) });
      else Object.assign(row, { cpuMs: row.cpuMs + phase.cpuMs, peakBytes: Math.max(row.peakBytes, phase.peakBytes), endLiveBytes: phase.endLiveBytes });
    }
    const phases = [...phaseRows.values()].filter((p) => p.name !== UNMARKED_PHASE || phaseDispatches.has(UNMARKED_PHASE));
    const slowestFirst = <R extends { gpuMs?: number; cpuMs?: number }>(rows: R[]) =>
      rows.sort((a, b) => (b.gpuMs ?? b.cpuMs ?? 0) - (a.gpuMs ?? a.cpuMs ?? 0));
    return {
      adapter,
      timing: timed ? "gpu-timestamps" : "cpu",
      wallMs,
      gpuMs: gpuMs(this.records),
      dispatches: this.records.length,
      primitives: slowestFirst(primitives),
      kernels: slowestFirst(kernels),
      phases,
    };
  }
}
