// A pool of decode workers (or none: `workers: 0` runs the same code inline, e.g. where module
// workers are not allowed). Each job goes to the worker with the fewest jobs in flight.

import { jpegDecoder } from "./jpeg.ts";
import { type ProcessedSample, processSample, type SampleJob } from "./process_sample.ts";

interface Pending {
  resolve(sample: ProcessedSample): void;
  reject(error: Error): void;
}

interface PoolWorker {
  worker: Worker;
  inFlight: number;
}

/** The pool itself failed (a worker crashed, or the pool was closed): not a fault of any record. */
export class DecodePoolError extends Error {
  override name = "DecodePoolError";
}

export function defaultWorkerCount(): number {
  const cores = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)?.hardwareConcurrency ?? 2;
  return Math.max(1, Math.min(cores - 1, 8));
}

export class DecodePool {
  #workers: PoolWorker[] = [];
  #pending = new Map<number, Pending>();
  #nextId = 0;
  /** Set once a worker fails: later jobs are refused instead of waiting for an answer that never comes. */
  #broken: DecodePoolError | undefined;

  constructor(workers: number = defaultWorkerCount()) {
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
      const entry = { worker, inFlight: 0 };
      worker.onmessage = (event: MessageEvent<{ id: number; result?: ProcessedSample; error?: string }>) => {
        entry.inFlight--;
        const { id, result, error } = event.data;
        const pending = this.#pending.get(id);
        this.#pending.delete(id);
        if (error !== undefined) pending?.reject(new Error(error));
        else pending?.resolve(result!);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        this.#broken = new DecodePoolError(`decode worker failed: ${event.message}`);
        this.#failAll(this.#broken);
      };
      this.#workers.push(entry);
    }
  }

  get size(): number {
    return this.#workers.length;
  }

  async process(job: SampleJob): Promise<ProcessedSample> {
    if (this.#broken) throw this.#broken;
    if (this.#workers.length === 0) return processSample(job, await jpegDecoder());
    const target = this.#workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const id = this.#nextId++;
    target.inFlight++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      target.worker.postMessage({ id, job });
    });
  }

  close(): void {
    for (const { worker } of this.#workers) worker.terminate();
    this.#broken = new DecodePoolError("decode pool closed");
    this.#failAll(this.#broken);
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
