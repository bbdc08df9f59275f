/**
 * Where a run keeps its folder: files named by "/"-separated paths relative to the run folder.
 * The CLI writes to disk (file_storage.ts), the browser to the Origin Private File System; the run
 * itself never touches either directly, so the same code runs in Deno and in a Web Worker.
 */
export interface RunStorage {
  /** Replaces the file atomically (a reader sees the old or the new bytes, never a mix); creates folders. */
  write(path: string, bytes: Uint8Array): Promise<void>;
  /** Appends to the file, creating it; used for the metrics log. */
  append(path: string, bytes: Uint8Array): Promise<void>;
  /** The file's bytes, or null when it does not exist. */
  read(path: string): Promise<Uint8Array | null>;
  /** Where a path lives, for messages (e.g. "runs/x/checkpoints/plain/step-000010"). */
  describe(path: string): string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function writeText(storage: RunStorage, path: string, text: string): Promise<void> {
  return storage.write(path, encoder.encode(text));
}

export function appendText(storage: RunStorage, path: string, text: string): Promise<void> {
  return storage.append(path, encoder.encode(text));
}

export async function readText(storage: RunStorage, path: string): Promise<string | null> {
  const bytes = await storage.read(path);
  return bytes === null ? null : decoder.decode(bytes);
}

/** Parses a JSON file of the run folder; errors name the file. */
export async function readJson<T>(storage: RunStorage, path: string): Promise<T | null> {
  const text = await readText(storage, path);
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${storage.describe(path)}: not valid JSON (${(e as Error).message})`);
  }
}

/** Storage in memory (tests, and runs that keep nothing). */
export class MemoryStorage implements RunStorage {
  readonly files = new Map<string, Uint8Array>();

  write(path: string, bytes: Uint8Array): Promise<void> {
    this.files.set(path, bytes.slice());
    return Promise.resolve();
  }

  append(path: string, bytes: Uint8Array): Promise<void> {
    const previous = this.files.get(path) ?? new Uint8Array(0);
    const joined = new Uint8Array(previous.length + bytes.length);
    joined.set(previous);
    joined.set(bytes, previous.length);
    this.files.set(path, joined);
    return Promise.resolve();
  }

  read(path: string): Promise<Uint8Array | null> {
    return Promise.resolve(this.files.get(path) ?? null);
  }

  describe(path: string): string {
    return `memory:${path}`;
  }
}
