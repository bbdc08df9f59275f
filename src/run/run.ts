/**
 * A training run: one or more members (plain and/or harmonized models) trained on the same
 * batches in the same order from the same seed, with evaluation, checkpoints and events. The same
 * code drives the CLI (files) and the browser (a worker writing to OPFS): storage is injected.
 */
import { dispose } from "../engine.ts";
import { createModel } from "../models/mod.ts";
import { toTensors } from "../data/gpu_batches.ts";
import type { HostBatch } from "../data/loader.ts";
import type { Batch } from "../data/batch.ts";
import { evaluate, type EvaluationReport } from "../harmonize/evaluate.ts";
import type { Schedule } from "../harmonize/schedules.ts";
import { checkRunConfig, createOptimizer, createSchedule, type RunConfig } from "./config.ts";
import type { RunData } from "./data.ts";
import { type CheckpointReason, LOGGED_EVENTS, type RunEvent } from "./events.ts";
import { Member } from "./member.ts";
import { shareBatches } from "./shared_batches.ts";
import { commitCheckpoint, loadCheckpoint, readLatest, type RunPosition, type RunSettings, saveCheckpoint } from "./checkpoint.ts";
import { appendText, readJson, readText, type RunStorage, writeText } from "./storage.ts";

export const CONFIG_FILE = "config.json";
export const METRICS_FILE = "metrics.jsonl";

export interface RunOptions {
  config: RunConfig;
  data: RunData;
  /** The run folder; without it nothing is written (and nothing can be resumed). */
  storage?: RunStorage;
  /** Written into config.json beside the config (version, adapter, data description, …). */
  describe?: Record<string, unknown>;
  /**
   * Evaluates a member (default: `evaluate`); replace it to look closer on the same pass, e.g. to
   * write an inspection file. It must not train (eval mode leaves BatchNorm statistics alone).
   */
  evaluator?: (member: Member, batches: AsyncIterable<Batch>, position: RunPosition) => Promise<EvaluationReport>;
  /**
   * Called by `start` on each new member before anything is written, e.g. to load pretrained
   * weights to fine-tune; if it throws, the run is disposed and its folder left untouched.
   */
  initialize?: (member: Member) => void | Promise<void>;
}

export type Listener = (event: RunEvent) => void;

/** Thrown into the members' evaluations when a stop was asked for between two batches. */
class EvaluationStopped extends Error {
  override name = "EvaluationStopped";
}

/** How a call to `train` ended. */
export type TrainOutcome = "finished" | "stopped";

export class Run {
  readonly members: Member[];
  readonly position: RunPosition = { step: 0, epoch: 0, samplesInEpoch: 0 };
  /** Settable between steps: batch size (applies from the next batch), λ_h and a factor on the learning rate. */
  readonly settings: RunSettings;
  #listeners = new Set<Listener>();
  #schedule: Schedule;
  #batches: AsyncIterator<HostBatch> | null = null;
  #batchesSize = 0;
  #evaluatedAt = -1;
  #checkpointedAt = -1;

  private constructor(readonly options: RunOptions) {
    const { config } = options;
    checkRunConfig(config);
    this.settings = { batchSize: config.batchSize, harmonization: config.loss.harmonization, lrScale: 1 };
    this.#schedule = createSchedule(config.schedule, config.totalSteps);
    this.members = [];
    try {
      for (const spec of config.members) {
        const model = createModel(config.model);
        this.members.push(new Member(spec.name, spec.mode, model, createOptimizer(config.optimizer, model.namedParameters())));
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** A new run from step 0; writes config.json (and truncates metrics.jsonl) when there is storage. */
  static async start(options: RunOptions): Promise<Run> {
    const run = new Run(options);
    try {
      for (const member of run.members) await options.initialize?.(member);
    } catch (e) {
      run.dispose();
      throw e;
    }
    if (options.storage) {
      const written = { ...options.describe, ...options.config };
      await writeText(options.storage, CONFIG_FILE, JSON.stringify(written, null, 2) + "\n");
      await writeText(options.storage, METRICS_FILE, "");
    }
    return run;
  }

  /**
   * A run continued from the newest checkpoint that every member has; metrics.jsonl keeps only
   * the lines up to that step, so the log reads as if the run had never stopped.
   */
  static async resume(options: RunOptions & { storage: RunStorage }): Promise<Run> {
    const { storage } = options;
    const pointers = await Promise.all(options.config.members.map((m) => readLatest(storage, m.name)));
    const missing = options.config.members.filter((_, i) => pointers[i] === null).map((m) => m.name);
    if (missing.length) throw new Error(`${storage.describe("checkpoints")}: no checkpoint for ${missing.join(", ")} to resume from`);
    const step = Math.min(...pointers.map((p) => p!.step));
    const run = new Run(options);
    try {
      for (const member of run.members) {
        const state = await loadCheckpoint(storage, member, step);
        Object.assign(run.position, { step: state.step, epoch: state.epoch, samplesInEpoch: state.samplesInEpoch });
        Object.assign(run.settings, { batchSize: state.batchSize, harmonization: state.harmonization, lrScale: state.lrScale });
      }
      run.#checkpointedAt = step;
      await run.#truncateMetrics(step);
    } catch (e) {
      run.dispose();
      throw e;
    }
    return run;
  }

  /** The run config stored in a run folder. */
  static readConfig(storage: RunStorage): Promise<RunConfig | null> {
    return readJson<RunConfig>(storage, CONFIG_FILE);
  }

  get config(): RunConfig {
    return this.options.config;
  }

  get finished(): boolean {
    return this.position.step >= this.config.totalSteps;
  }

  /** The learning rate of the next step. */
  get lr(): number {
    return this.#schedule(this.position.step) * this.settings.lrScale;
  }

  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async emit(event: RunEvent): Promise<void> {
    for (const listener of this.#listeners) listener(event);
    if (this.options.storage && LOGGED_EVENTS.has(event.type)) {
      await appendText(this.options.storage, METRICS_FILE, JSON.stringify(event) + "\n");
    }
  }

  /**
   * One step of every member on the same batch. At an epoch's end it evaluates and checkpoints
   * first, then starts the next epoch. Resolves to false once the run has taken all its steps.
   * When `signal` aborts during an evaluation, or by the end of the epoch's, it resolves (to true)
   * without going further.
   */
  async step(signal?: AbortSignal): Promise<boolean> {
    if (this.finished) return false;
    // An evaluation due at this step that a stop cut short comes first (a resumed run redoes it).
    if (this.#evaluationDue() && !(await this.evaluate(signal))) return true;
    let host = await this.#nextBatch();
    while (host === null) {
      if (!(await this.#endEpoch(signal)) || signal?.aborted) return true;
      host = await this.#nextBatch();
      if (host === null && this.position.samplesInEpoch === 0) throw new Error(`epoch ${this.position.epoch} has no batches`);
    }
    const { config, settings, position } = this;
    const step = position.step + 1;
    const lr = this.lr;
    const batch = toTensors(host);
    try {
      for (const member of this.members) {
        const started = performance.now();
        const loss = await member.step(batch, {
          step, lr, classes: config.classes, harmonization: settings.harmonization,
          weightDecay: config.loss.weightDecay, clipNorm: config.loss.clipNorm,
        });
        const seconds = (performance.now() - started) / 1000;
        await this.emit({
          type: "step", member: member.name, step, epoch: position.epoch, lr, ...loss,
          imagesPerSecond: host.size / seconds, time: new Date().toISOString(),
        });
      }
    } finally {
      dispose(batch);
    }
    position.step = step;
    position.samplesInEpoch += host.size;
    if (this.#evaluationDue() && !(await this.evaluate(signal))) return true;
    if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) await this.checkpoint("interval");
    return true;
  }

  /**
   * Evaluates every member on the validation data (eval mode: training state untouched). Each
   * batch is decoded and uploaded once and evaluated by every member. When `signal` aborts, the
   * evaluation stops before its next batch and resolves to null, having logged nothing.
   */
  async evaluate(signal?: AbortSignal): Promise<Map<string, EvaluationReport> | null> {
    const reports = new Map<string, EvaluationReport>();
    const { step, epoch } = this.position;
    const validation = this.options.data.validation;
    if (signal?.aborted) return null;
    if (!validation) {
      this.#evaluatedAt = step;
      return reports;
    }
    await this.emit({ type: "evaluating", step, epoch });
    const uploaded = (async function* () {
      for await (const host of validation()) {
        if (signal?.aborted) throw new EvaluationStopped();
        yield toTensors(host);
      }
    })();
    const streams = shareBatches(uploaded, this.members.length, (batch) => dispose(batch));
    const outcomes = await Promise.allSettled(this.members.map(async (member, i) => {
      try {
        return this.options.evaluator
          ? await this.options.evaluator(member, streams[i], { ...this.position })
          : await evaluate(member.model, streams[i], this.config.classes);
      } finally {
        streams[i].leave(); // an evaluator that failed before its loop must not hold up the others
      }
    }));
    const failures = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason] : []));
    const failure = failures.find((e) => !(e instanceof EvaluationStopped));
    if (failure !== undefined) throw failure;
    if (failures.length) return null;
    for (const [i, member] of this.members.entries()) {
      const report = (outcomes[i] as PromiseFulfilledResult<EvaluationReport>).value;
      reports.set(member.name, report);
      await this.emit({ type: "eval", member: member.name, step, epoch, ...report });
    }
    this.#evaluatedAt = step;
    return reports;
  }

  /** Writes every member's checkpoint, then points each `latest` at it. No-op without storage or when current. */
  async checkpoint(reason: CheckpointReason): Promise<void> {
    const storage = this.options.storage;
    if (!storage || this.#checkpointedAt === this.position.step) return;
    const paths: Record<string, string> = {};
    for (const member of this.members) {
      const dir = await saveCheckpoint(storage, member, this.config.model, { ...this.position }, { ...this.settings });
      paths[member.name] = storage.describe(dir);
    }
    for (const member of this.members) await commitCheckpoint(storage, member.name, this.position.step);
    this.#checkpointedAt = this.position.step;
    await this.emit({ type: "checkpoint", step: this.position.step, epoch: this.position.epoch, reason, paths });
  }

  /**
   * Steps until the run is finished or `signal` aborts (after the current step, or between two
   * evaluation batches), then evaluates (unless just done) and checkpoints. A stopped run's
   * checkpoint holds the training state after its last whole step; an evaluation the stop cut
   * short is redone when the run resumes.
   */
  async train(signal?: AbortSignal): Promise<TrainOutcome> {
    while (!signal?.aborted && (await this.step(signal)));
    const evaluated = this.finished && (this.#evaluatedAt === this.position.step || (await this.evaluate(signal)) !== null);
    if (!evaluated) {
      await this.checkpoint("stop");
      return "stopped";
    }
    await this.checkpoint("end");
    return "finished";
  }

  /** Where the newest checkpoint of each member lies (storage paths), if any. */
  async latestCheckpoints(): Promise<Record<string, string>> {
    const storage = this.options.storage;
    const out: Record<string, string> = {};
    if (!storage) return out;
    for (const member of this.members) {
      const latest = await readLatest(storage, member.name);
      if (latest) out[member.name] = storage.describe(`checkpoints/${member.name}/${latest.dir}`);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#batches?.return?.();
    this.#batches = null;
  }

  /** Frees the models and optimizer state (call `close` first to stop the data pipeline). */
  dispose(): void {
    for (const member of this.members) member.dispose();
  }

  async #nextBatch(): Promise<HostBatch | null> {
    const { epoch, samplesInEpoch } = this.position;
    if (this.#batches && this.#batchesSize !== this.settings.batchSize) await this.close();
    if (!this.#batches) {
      this.#batches = this.options.data.epoch(epoch, this.settings.batchSize, samplesInEpoch)[Symbol.asyncIterator]();
      this.#batchesSize = this.settings.batchSize;
    }
    const next = await this.#batches.next();
    return next.done ? null : next.value;
  }

  /** Evaluates (unless done), starts the next epoch and checkpoints; false when `signal` cut the evaluation short. */
  async #endEpoch(signal?: AbortSignal): Promise<boolean> {
    await this.close();
    if (this.#evaluatedAt !== this.position.step && !(await this.evaluate(signal))) return false;
    this.position.epoch++;
    this.position.samplesInEpoch = 0;
    await this.checkpoint("epoch");
    return true;
  }

  /** Whether `--eval-every` asks for an evaluation at the current step that has not been done. */
  #evaluationDue(): boolean {
    const { evalEvery } = this.config;
    const { step } = this.position;
    return evalEvery > 0 && step > 0 && step % evalEvery === 0 && this.#evaluatedAt !== step;
  }

  /**
   * Keeps the metrics up to `step` and notes whether that step was evaluated (not to repeat it).
   * A line cut short by a kill is dropped with the rest past the checkpoint.
   */
  async #truncateMetrics(step: number): Promise<void> {
    const storage = this.options.storage!;
    const text = (await readText(storage, METRICS_FILE)) ?? "";
    const kept: string[] = [];
    for (const line of text.split("\n")) {
      let event: { type?: string; step?: number };
      try {
        event = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof event.step !== "number" || event.step > step) continue;
      kept.push(line);
      if (event.type === "eval" && event.step === step) this.#evaluatedAt = step;
    }
    await writeText(storage, METRICS_FILE, kept.map((l) => l + "\n").join(""));
  }
}
