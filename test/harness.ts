// One test API for both runtimes: in Deno it registers with Deno.test; in a browser page the
// runner (test/browser/entry.ts) collects the registered tests and runs them in order.

export type TestFn = () => void | Promise<void>;
export interface RegisteredTest {
  name: string;
  fn: TestFn;
}

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
export const runtime: "deno" | "browser" = isDeno ? "deno" : "browser";
export const browserTests: RegisteredTest[] = [];

export function test(name: string, fn: TestFn): void {
  if (isDeno) {
    // GPU work keeps device-level timers alive between tests, so the sanitizers would misfire.
    Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
  } else {
    browserTests.push({ name, fn });
  }
}

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertEquals<T>(actual: T, expected: T, message = ""): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`${message ? message + ": " : ""}expected ${e}, got ${a}`);
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** Elementwise |a - e| <= atol + rtol·|e|; names the first offending index. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6 }: Tolerance = {},
  message = "",
): void {
  const prefix = message ? message + ": " : "";
  if (actual.length !== expected.length) {
    throw new AssertionError(`${prefix}length ${actual.length} != expected ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (Number.isNaN(a) !== Number.isNaN(e) || !(Number.isNaN(a)))) {
      if (worst < 0 || !(excess <= worstExcess)) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (worst >= 0) {
    throw new AssertionError(
      `${prefix}mismatch at index ${worst}: got ${actual[worst]}, expected ${expected[worst]} ` +
        `(rtol ${rtol}, atol ${atol})`,
    );
  }
}

/** Relative error ‖a − e‖∞ / max(‖e‖∞, floor): the measure the golden tests use. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-12): number {
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}

export function assertThrows(fn: () => unknown, pattern?: RegExp): Error {
  try {
    fn();
  } catch (e) {
    checkError(e, pattern);
    return e as Error;
  }
  throw new AssertionError(`expected an error${pattern ? " matching " + pattern : ""}, none thrown`);
}

export async function assertRejects(fn: () => Promise<unknown>, pattern?: RegExp): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    checkError(e, pattern);
    return e as Error;
  }
  throw new AssertionError(`expected a rejection${pattern ? " matching " + pattern : ""}, none came`);
}

function checkError(e: unknown, pattern?: RegExp): void {
  const message = e instanceof Error ? e.message : String(e);
  if (pattern && !pattern.test(message)) {
    throw new AssertionError(`error message ${JSON.stringify(message)} does not match ${pattern}`);
  }
}

/** Reads a file given relative to the repository root, in Deno from disk, in a browser over HTTP. */
export async function readRepoFile(path: string): Promise<Uint8Array> {
  if (isDeno) {
    return await Deno.readFile(new URL(`../${path}`, import.meta.url));
  }
  const response = await fetch(`/${path}`);
  if (!response.ok) throw new Error(`cannot fetch /${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
