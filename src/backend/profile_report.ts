/** What a profile found (see profiler.ts), and the plain-text tables it prints as. */

export interface PrimitiveRow {
  name: string;
  calls: number;
  /** GPU time of the primitive's dispatches; undefined without timestamp-query. */
  gpuMs?: number;
  /** CPU time spent recording the primitive (validation, allocation, encoding). */
  cpuMs: number;
  /** Bytes of the outputs it allocated. */
  outputBytes: number;
}

export interface KernelRow {
  /** "shader.entry": the variant in use shows in the name (e.g. conv2d_texture vs conv2d). */
  name: string;
  dispatches: number;
  gpuMs?: number;
  /** Bytes of the storage buffers bound (inputs and outputs; an upper bound on the traffic). */
  boundBytes: number;
}

export interface PhaseRow {
  name: string;
  gpuMs?: number;
  /** CPU time between the phase's mark and the next (recording; the GPU may lag behind). */
  cpuMs: number;
  /** Bytes held by live tensors when the phase began, at its highest, and when it ended. */
  startLiveBytes: number;
  peakBytes: number;
  endLiveBytes: number;
}

export interface ProfileReport {
  adapter: string;
  /** "gpu-timestamps": per-dispatch GPU times; "cpu": the device has no timestamp-query. */
  timing: "gpu-timestamps" | "cpu";
  /** Wall time from the start of the profile to its end (including the caller's sync). */
  wallMs: number;
  /** Sum of the dispatches' GPU times. */
  gpuMs?: number;
  dispatches: number;
  /** Slowest first (GPU time, else CPU time). */
  primitives: PrimitiveRow[];
  kernels: KernelRow[];
  /** In the order they were first marked. */
  phases: PhaseRow[];
}

export interface FormatOptions {
  /** Rows of the primitive and kernel tables (default 15; the rest are summed in one row). */
  top?: number;
}

const ms = (value: number | undefined) => (value === undefined ? "—" : value < 10 ? value.toFixed(2) : value.toFixed(1));
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const share = (value: number | undefined, total: number | undefined) =>
  value === undefined || !total ? "—" : `${(100 * value / total).toFixed(1)}%`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The first `top` rows, and one row summing the rest. */
function truncated<R extends { name: string }>(rows: R[], top: number, sumRest: (rest: R[]) => R): R[] {
  return rows.length <= top + 1 ? rows : [...rows.slice(0, top), sumRest(rows.slice(top))];
}

const total = <R>(rows: R[], pick: (r: R) => number | undefined) =>
  rows.some((r) => pick(r) === undefined) ? undefined : rows.reduce((s, r) => s + pick(r)!, 0);

export function formatProfile(report: ProfileReport, { top = 15 }: FormatOptions = {}): string {
  const timing = report.timing === "gpu-timestamps"
    ? `GPU time from timestamps: ${ms(report.gpuMs)} ms in ${report.dispatches} dispatches`
    : `no timestamp-query on this device: GPU time per primitive unknown; CPU time is recording time`;
  const primitives = truncated(report.primitives, top, (rest) => ({
    name: `(${rest.length} more)`,
    calls: rest.reduce((s, r) => s + r.calls, 0),
    gpuMs: total(rest, (r) => r.gpuMs),
    cpuMs: rest.reduce((s, r) => s + r.cpuMs, 0),
    outputBytes: rest.reduce((s, r) => s + r.outputBytes, 0),
  }));
  const kernels = truncated(report.kernels, top, (rest) => ({
    name: `(${rest.length} more)`,
    dispatches: rest.reduce((s, r) => s + r.dispatches, 0),
    gpuMs: total(rest, (r) => r.gpuMs),
    boundBytes: rest.reduce((s, r) => s + r.boundBytes, 0),
  }));
  return [
    `profile on ${report.adapter}: wall ${ms(report.wallMs)} ms; ${timing}`,
    "",
    table(
      ["primitive", "calls", "GPU ms", "GPU %", "CPU ms", "output MiB"],
      primitives.map((r) => [r.name, String(r.calls), ms(r.gpuMs), share(r.gpuMs, report.gpuMs), ms(r.cpuMs), mib(r.outputBytes)]),
    ),
    "",
    table(
      ["kernel", "dispatches", "GPU ms", "GPU %", "bound MiB"],
      kernels.map((r) => [r.name, String(r.dispatches), ms(r.gpuMs), share(r.gpuMs, report.gpuMs), mib(r.boundBytes)]),
    ),
    "",
    table(
      ["phase", "GPU ms", "CPU ms", "live MiB at start", "peak MiB", "live MiB at end"],
      report.phases.map((p) => [p.name, ms(p.gpuMs), ms(p.cpuMs), mib(p.startLiveBytes), mib(p.peakBytes), mib(p.endLiveBytes)]),
    ),
  ].join("\n");
}
