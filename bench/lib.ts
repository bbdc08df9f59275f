/**
 * Shared pieces of the benchmarks: timing a workload (warm-up, repetitions, median), seeded host
 * data, and a plain-text table with ratio columns. Speed lives here, never in tests.
 */
import type { HostTensor, Peer, Workload } from "./peers/peer.ts";

export interface TimingOptions {
  /** Untimed repetitions first (pipeline compilation, buffer-pool warm-up). */
  warmup: number;
  /** Timed repetitions, at most. */
  reps: number;
  /** Stop repeating once this many seconds were spent timing (after at least `minReps`). */
  budgetSeconds: number;
  /** Rounds that always run, whatever the budget (a median needs a few samples). */
  minReps: number;
}

export const DEFAULT_TIMING: TimingOptions = { warmup: 2, reps: 10, budgetSeconds: 10, minReps: 3 };

export interface Timing {
  medianMs: number;
  minMs: number;
  samplesMs: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times `run(); await sync()` per repetition, so each sample covers dispatch and completed GPU
 * work, one repetition at a time. Several workloads are timed in turns (one repetition each per
 * round), so a change in machine load during the run affects them alike.
 */
export async function timeInterleaved(workloads: Workload[], options: TimingOptions = DEFAULT_TIMING): Promise<Timing[]> {
  for (const workload of workloads) {
    for (let i = 0; i < options.warmup; i++) {
      workload.run();
      await workload.sync();
    }
  }
  const samples = workloads.map(() => [] as number[]);
  const start = performance.now();
  for (let round = 0; round < options.reps; round++) {
    for (const [i, workload] of workloads.entries()) {
      const t0 = performance.now();
      workload.run();
      await workload.sync();
      samples[i].push(performance.now() - t0);
    }
    const spent = (performance.now() - start) / 1000;
    if (round + 1 >= options.minReps && spent > options.budgetSeconds) break;
  }
  return samples.map((samplesMs) => ({ medianMs: median(samplesMs), minMs: Math.min(...samplesMs), samplesMs }));
}

/** Times one workload (see timeInterleaved). */
export async function timeWorkload(workload: Workload, options: TimingOptions = DEFAULT_TIMING): Promise<Timing> {
  return (await timeInterleaved([workload], options))[0];
}

/** GFLOP/s of `flops` floating-point operations done in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}

/** Uniform values in [-1, 1) from a seeded generator (mulberry32), identical on every run. */
export function randomHost(shape: number[], seed: number): HostTensor {
  const data = new Float32Array(shape.reduce((n, d) => n * d, 1));
  let state = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return { data, shape };
}

/** ‖a − b‖∞ / ‖b‖∞: how far a peer's result is from the reference peer's. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Formats a number with about three significant digits ("—" for a missing value). */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toFixed(digits);
}

/** A Markdown table: first column left-aligned, the others right-aligned, padded to line up. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]?.length ?? 0)));
  const pad = (cell: string, c: number) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]));
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? ` ${"-".repeat(w)} ` : ` ${"-".repeat(w - 1)}: `)).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n");
}

export interface Comparison {
  /** Header of the first column, e.g. "size". */
  label: string;
  /** Unit of the measured values, e.g. "GFLOP/s". */
  unit: string;
  /** Whether a larger value is better (throughput) or a smaller one (time, bytes). */
  higherIsBetter: boolean;
  /** The framework the ratios are about ("ours") and the ones it is compared with. */
  ours: string;
  peers: string[];
  rows: { label: string; values: Record<string, number | undefined> }[];
}

/**
 * One row per case: each framework's value, then ours ÷ each peer and ours ÷ the best peer,
 * oriented so a ratio above 1 always means ours is better.
 */
export function comparisonTable(c: Comparison): string {
  const ratio = (ours: number | undefined, other: number | undefined) =>
    ours === undefined || other === undefined ? undefined : c.higherIsBetter ? ours / other : other / ours;
  const best = (values: Record<string, number | undefined>) => {
    const present = c.peers.map((p) => values[p]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (present.length === 0) return undefined;
    return c.higherIsBetter ? Math.max(...present) : Math.min(...present);
  };
  const headers = [
    c.label,
    ...[c.ours, ...c.peers].map((name) => `${name} ${c.unit}`),
    ...c.peers.map((p) => `${c.ours} / ${p}`),
    ...(c.peers.length > 1 ? [`${c.ours} / best peer`] : []),
  ];
  const rows = c.rows.map(({ label, values }) => [
    label,
    ...[c.ours, ...c.peers].map((name) => formatNumber(values[name])),
    ...c.peers.map((p) => `${formatNumber(ratio(values[c.ours], values[p]))}×`),
    ...(c.peers.length > 1 ? [`${formatNumber(ratio(values[c.ours], best(values)))}×`] : []),
  ]);
  return formatTable(headers, rows);
}

/** Lines naming the date, the runtime, the machine load and each peer's adapter: the context of a table. */
export function environmentReport(peers: Peer[]): string {
  const load = Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
  const date = new Date().toISOString().slice(0, 16).replace("T", " ");
  const lines = [`${date} UTC, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, load average ${load}`];
  for (const peer of peers) lines.push(`  ${peer.name}: ${peer.version} on ${peer.adapter()}`);
  return lines.join("\n");
}

/** Command-line options every benchmark accepts (node:util parseArgs format). */
export const COMMON_OPTIONS = {
  peers: { type: "string", default: "tfjs,jax-js" },
  "matmul-variant": { type: "string" },
  warmup: { type: "string", default: String(DEFAULT_TIMING.warmup) },
  reps: { type: "string", default: String(DEFAULT_TIMING.reps) },
  budget: { type: "string", default: String(DEFAULT_TIMING.budgetSeconds) },
} as const;

/** A non-negative integer option, with an error that names it. */
export function intOption(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

/** Timing options from the parsed common options. */
export function timingOptions(values: { warmup?: string; reps?: string; budget?: string }): TimingOptions {
  return {
    warmup: intOption("warmup", values.warmup),
    reps: Math.max(1, intOption("reps", values.reps)),
    budgetSeconds: Number(values.budget),
    minReps: Math.min(DEFAULT_TIMING.minReps, Math.max(1, intOption("reps", values.reps))),
  };
}

/** "a,b, c" → ["a", "b", "c"]; empty string → []. */
export function listOption(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}
