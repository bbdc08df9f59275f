/**
 * The training loop shared by the CLI and the browser demo: epochs of train steps with a schedule,
 * then evaluation. Loss parts are read back once per step for logging (one small sync).
 */
import { dispose } from "../engine.ts";
import type { Module } from "../nn/module.ts";
import type { Optimizer } from "./optimizers.ts";
import type { Schedule } from "./schedules.ts";
import { trainStep } from "./train_step.ts";
import type { Batch } from "../data/batch.ts";
import { evaluate, type EvaluationReport } from "./evaluate.ts";
import type { HarmonizerWeights } from "./loss.ts";

export interface StepLog {
  epoch: number;
  step: number;
  lr: number;
  total: number;
  crossEntropy: number;
  harmonization: number;
  weightL2: number;
}

export interface FitOptions extends HarmonizerWeights {
  model: Module;
  optimizer: Optimizer;
  /** Called once per epoch for a fresh pass over the training data; fit disposes each batch after its step. */
  train: () => AsyncIterable<Batch>;
  /** Evaluated after each epoch when given. */
  validation?: () => AsyncIterable<Batch>;
  epochs: number;
  schedule: Schedule;
  mode: "harmonized" | "plain";
  classes: number;
  clipNorm?: number;
  onStep?: (log: StepLog) => void;
  onEpoch?: (epoch: number, report: EvaluationReport | null) => void | Promise<void>;
}

export interface FitHistory {
  steps: StepLog[];
  evaluations: (EvaluationReport | null)[];
}

export async function fit(options: FitOptions): Promise<FitHistory> {
  const history: FitHistory = { steps: [], evaluations: [] };
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for await (const batch of options.train()) {
      const lr = options.schedule(step);
      const result = trainStep(options.model, options.optimizer, batch, { ...options, lr });
      const [total, crossEntropy, harmonization, weightL2] = await Promise.all(
        [result.parts.total, result.parts.crossEntropy, result.parts.harmonization, result.parts.weightL2].map((t) => t.item()),
      );
      dispose([result, batch]);
      const log = { epoch, step, lr, total, crossEntropy, harmonization, weightL2 };
      if (!Number.isFinite(total)) throw new Error(`training diverged at step ${step} (epoch ${epoch}): loss ${total}`);
      history.steps.push(log);
      options.onStep?.(log);
      step++;
    }
    const report = options.validation ? await evaluate(options.model, options.validation(), options.classes) : null;
    history.evaluations.push(report);
    await options.onEpoch?.(epoch, report);
  }
  return history;
}
