/**
 * Profiling: time and bytes per primitive and per kernel, and live/peak memory per phase, for
 * whatever runs between startProfile() and stop() (see docs/profiling.md).
 *
 *   const { report } = await profile(async () => { const r = trainStep(...); await r.parts.total.item(); });
 *   console.log(formatProfile(report));
 */
import { engine } from "./engine.ts";
import type { ProfileReport } from "./backend/profile_report.ts";

export { formatProfile, type FormatOptions, type KernelRow, type PhaseRow, type PrimitiveRow, type ProfileReport } from "./backend/profile_report.ts";

export interface OpenProfile {
  /** Waits for the GPU to finish what was recorded, closes the profile and reports. */
  stop(): Promise<ProfileReport>;
}

/** Starts recording on the current device; one profile at a time. */
export function startProfile(): OpenProfile {
  const backend = engine.backend;
  const profiler = backend.startProfile();
  return {
    async stop() {
      if (backend.profiler === profiler) backend.stopProfile();
      await backend.sync();
      return await profiler.finish(backend.adapter.description);
    },
  };
}

/** Runs `fn` (sync or async) inside a profile; the profile ends even if `fn` throws. */
export async function profile<T>(fn: () => T | Promise<T>): Promise<{ result: T; report: ProfileReport }> {
  const open = startProfile();
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    await open.stop();
    throw e;
  }
  return { result, report: await open.stop() };
}

/**
 * Marks the start of a phase (e.g. "forward", "optimizer") for an open profile; a no-op
 * otherwise, so library code may mark phases unconditionally.
 */
export function markPhase(name: string): void {
  if (engine.ready) engine.backend.profiler?.markPhase(name);
}
