// A small deterministic fuzzer shared by the fuzz tests (a fixed number of inputs per target) and
// bench/fuzz (as many as fit in a time budget). A target turns (random, iteration) into one hostile
// input, runs a parser on it and judges the outcome itself: a result it can verify against the
// input, or an error that names where the input is bad. Anything else is a FuzzFailure.

import { Random } from "../../src/data/random.ts";

/** How one input ended: a verified result, or a named error (the string is its kind, for the tally). */
export type Outcome = { ok: true } | { ok: false; kind: string };

export interface FuzzTarget {
  name: string;
  /** Builds the valid inputs that the mutators start from. */
  setup(): Promise<void>;
  /** Runs one input; throws FuzzFailure when the parser misbehaved on it. */
  one(random: Random, iteration: number): Promise<Outcome>;
}

/** A parser misbehaved: wrong result, unnamed or internal error, or no answer. */
export class FuzzFailure extends Error {
  override name = "FuzzFailure";
}

export interface FuzzTally {
  target: string;
  seed: number;
  inputs: number;
  ok: number;
  rejected: number;
  /** Named errors by kind, most frequent first when printed. */
  kinds: Map<string, number>;
  failures: string[];
}

export interface FuzzOptions {
  seed: number;
  /** Stop after this many inputs… */
  inputs?: number;
  /** …or once this many milliseconds have passed (bench/fuzz). */
  millis?: number;
  /** Failures kept before stopping; the tests stop at the first. */
  maxFailures?: number;
  /** A parser that has not answered after this long is hung (default 30 s). */
  deadlineMs?: number;
}

/** Runs `target` on a deterministic sequence of inputs drawn from `seed`. */
export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzTally> {
  await target.setup();
  const tally: FuzzTally = { target: target.name, seed: options.seed, inputs: 0, ok: 0, rejected: 0, kinds: new Map(), failures: [] };
  const start = Date.now();
  const limit = options.inputs ?? Infinity;
  const maxFailures = options.maxFailures ?? 1;
  for (let i = 0; i < limit; i++) {
    if (options.millis !== undefined && Date.now() - start >= options.millis) break;
    // Each input has its own stream, so input i replays alone from (seed, i).
    const random = new Random(options.seed * 1_000_003 + i);
    tally.inputs++;
    try {
      const outcome = await withDeadline(target.one(random, i), options.deadlineMs ?? 30_000, `${target.name} input ${i}`);
      if (outcome.ok) tally.ok++;
      else {
        tally.rejected++;
        tally.kinds.set(outcome.kind, (tally.kinds.get(outcome.kind) ?? 0) + 1);
      }
    } catch (e) {
      tally.failures.push(`${target.name} seed ${options.seed} input ${i}: ${e instanceof Error ? e.message : e}`);
      if (tally.failures.length >= maxFailures) break;
    }
  }
  return tally;
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FuzzFailure(`${what}: no answer after ${ms} ms (hang)`)), ms);
  });
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

/** One line per target for logs and the bench: inputs, verified results, named errors by kind. */
export function describeTally(tally: FuzzTally): string {
  const sorted = [...tally.kinds.entries()].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, 8).map(([k, n]) => `${n}× ${k}`);
  if (sorted.length > 8) shown.push(`${sorted.length - 8} more kinds`);
  const kinds = shown.join("; ");
  const failed = tally.failures.length > 0 ? `, ${tally.failures.length} FAILED: ${tally.failures[0]}` : "";
  return `${tally.target}: ${tally.inputs} inputs, ${tally.ok} ok, ${tally.rejected} named errors${kinds ? ` (${kinds})` : ""}${failed}`;
}

/**
 * Judges an error thrown by a parser: it must be an Error of the parser's own making (not a
 * TypeError, RangeError or the like from a bug) whose message matches `named`. Returns its kind
 * for the tally: the message with numbers and quoted names blanked out, so kinds group.
 */
export function namedError(error: unknown, named: RegExp, input: string): Outcome {
  if (error instanceof FuzzFailure) throw error;
  if (!(error instanceof Error)) throw new FuzzFailure(`${input}: threw a non-Error ${String(error).slice(0, 200)}`);
  const internal = error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError ||
    error instanceof SyntaxError;
  if (internal || !named.test(error.message)) {
    throw new FuzzFailure(`${input}: unnamed or internal error ${error.name}: ${error.message.slice(0, 300)}`);
  }
  if (error.message.length > MAX_MESSAGE || error.message.includes("\n")) {
    throw new FuzzFailure(`${input}: error is not one short line (${error.message.length} chars): ${error.message.slice(0, 300)}…`);
  }
  return { ok: false, kind: errorKind(error.message) };
}

/** A one-line error a person can read: hostile input must not be echoed whole. */
const MAX_MESSAGE = 400;

function errorKind(message: string): string {
  return message
    .replace(/"[^"]*"|'[^']*'/g, "…")
    .replace(/\d+(\.\d+)?(e[+-]?\d+)?/gi, "N")
    .replace(/^[^:]*(fuzz|safetensors|json)[^:]*: /i, "")
    .slice(0, 90);
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new FuzzFailure(message);
}

// ------------------------------------------------------------------------------------ mutators

/** Length-like values that break naive parsers: 2^63, 2^64 - 1, just past 2^53 and 2^32, zero. */
export const HUGE_LENGTHS: bigint[] = [2n ** 63n, 2n ** 64n - 1n, 2n ** 63n - 1n, 2n ** 53n + 1n, 2n ** 32n - 1n, 2n ** 31n, 2n ** 32n, 0n];

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[random.int(items.length)];
}

/** Generic byte mutations: bit flips, truncation, slices deleted, duplicated or swapped, random bytes. */
export function mutateBytes(random: Random, input: Uint8Array): Uint8Array {
  let bytes: Uint8Array = input.slice();
  const rounds = 1 + random.int(3);
  for (let r = 0; r < rounds && bytes.length > 0; r++) {
    const at = random.int(bytes.length);
    switch (random.int(7)) {
      case 0: // bit flips
        for (let k = 0, n = 1 + random.int(4); k < n; k++) bytes[random.int(bytes.length)] ^= 1 << random.int(8);
        break;
      case 1: // truncation
        bytes = bytes.slice(0, at);
        break;
      case 2: { // a slice deleted
        const end = Math.min(bytes.length, at + 1 + random.int(32));
        bytes = concat(bytes.subarray(0, at), bytes.subarray(end));
        break;
      }
      case 3: { // a slice duplicated in place
        const end = Math.min(bytes.length, at + 1 + random.int(64));
        bytes = concat(bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end));
        break;
      }
      case 4: { // two slices swapped
        const n = 1 + random.int(16);
        const other = random.int(bytes.length);
        if (at + n <= bytes.length && other + n <= bytes.length && Math.abs(at - other) >= n) {
          const a = bytes.slice(at, at + n);
          bytes.copyWithin(at, other, other + n);
          bytes.set(a, other);
        }
        break;
      }
      case 5: // random bytes overwritten, 0xff and 0x00 favoured
        for (let k = 0, n = 1 + random.int(8); k < n && at + k < bytes.length; k++) {
          bytes[at + k] = pick(random, [0x00, 0xff, 0x80, 0x7f, random.int(256)]);
        }
        break;
      case 6: // a huge little-endian 64-bit value written over 8 bytes
        if (at + 8 <= bytes.length) new DataView(bytes.buffer).setBigUint64(at, pick(random, HUGE_LENGTHS), true);
        break;
    }
  }
  return bytes;
}

export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A stream of `bytes` in random chunk sizes (1 byte to all at once), as networks deliver. */
export function chunkedStream(random: Random, bytes: Uint8Array): ReadableStream<Uint8Array> {
  const maxChunk = pick(random, [1, 7, 64, 4096, bytes.length + 1]);
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const n = 1 + random.int(maxChunk);
      controller.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

/** Arrays and objects nested 100 000 deep: past what a recursive printer or validator survives. */
export const DEEP_ARRAY = "[".repeat(100_000) + "]".repeat(100_000);
export const DEEP_OBJECT = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);

const HOSTILE_JSON = [
  "9007199254740993", "1e308", "1e999", "-1e999", "-1", "0", "0.5", "-0", "2147483648", "18446744073709551616",
  "null", "true", '""', '"3"', "[]", "{}", "[1e400]", '"\\ud800"', DEEP_ARRAY, `[${DEEP_ARRAY}]`, DEEP_OBJECT,
  "[4294967296, 4294967296, 4294967296]", "[-1, 2]", "[1, 2, 3]", `"${"x".repeat(100_000)}"`,
];

/** JSON values that break naive validators: huge, negative, fractional, infinite, wrong types, deep, long. */
export function hostileJsonValue(random: Random): string {
  return pick(random, HOSTILE_JSON);
}
