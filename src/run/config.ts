/** Everything that decides a run, as plain JSON (config.json holds it, checkpoints refer to it). */
import type { ModelConfig } from "../models/mod.ts";
import type { Parameter } from "../nn/parameter.ts";
import { AdamW, type Optimizer, Sgd } from "../harmonize/optimizers.ts";
import { cosineSchedule, type Schedule } from "../harmonize/schedules.ts";

export type MemberMode = "harmonized" | "plain";

export interface MemberSpec {
  name: string;
  mode: MemberMode;
}

export type OptimizerConfig =
  | { name: "sgd"; momentum?: number; nesterov?: boolean; weightDecay?: number }
  | { name: "adamw"; beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number };

/** The learning rate by step: a cosine from `base` after a linear warm-up, or constant. */
export type ScheduleConfig =
  | { kind: "cosine"; base: number; warmupSteps: number; minimum?: number }
  | { kind: "constant"; base: number };

export interface LossConfig {
  /** λ_h */
  harmonization: number;
  /** λ_w */
  weightDecay: number;
  /** Clip the global gradient norm to this value. */
  clipNorm?: number;
}

export interface RunConfig {
  seed: number;
  members: MemberSpec[];
  model: ModelConfig;
  classes: number;
  /** Side of the square training images (sizes the memory check). */
  imageSize: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  loss: LossConfig;
  /** Steps the run takes in all; the schedule is sized from it. */
  totalSteps: number;
  /** Evaluate every this many steps (0: only at epoch ends and at the end). */
  evalEvery: number;
  /** Checkpoint every this many steps (0: only at epoch ends, on stop and at the end). */
  checkpointEvery: number;
}

/** The two members of a comparison: plain first, then harmonized, on the same batches. */
export const BOTH_MEMBERS: MemberSpec[] = [{ name: "plain", mode: "plain" }, { name: "harmonized", mode: "harmonized" }];

export function membersFor(mode: MemberMode | "both"): MemberSpec[] {
  return mode === "both" ? BOTH_MEMBERS : [{ name: mode, mode }];
}

export function createOptimizer(config: OptimizerConfig, parameters: [string, Parameter][]): Optimizer {
  if (config.name === "sgd") {
    const { momentum = 0.9, nesterov = true, weightDecay = 0 } = config;
    return new Sgd(parameters, { momentum, nesterov, weightDecay });
  }
  return new AdamW(parameters, config);
}

export function createSchedule(config: ScheduleConfig, totalSteps: number): Schedule {
  if (config.kind === "constant") return () => config.base;
  return cosineSchedule({ base: config.base, totalSteps, warmupSteps: config.warmupSteps, minimum: config.minimum });
}

/** Refuses configs a run cannot start from, naming the field. */
export function checkRunConfig(config: RunConfig): void {
  const positive = (value: number, name: string) => {
    if (!(Number.isInteger(value) && value > 0)) throw new Error(`run config: ${name} must be a positive integer, got ${value}`);
  };
  positive(config.batchSize, "batchSize");
  positive(config.totalSteps, "totalSteps");
  positive(config.imageSize, "imageSize");
  if (config.members.length === 0) throw new Error("run config: no members");
  const names = config.members.map((m) => m.name);
  for (const name of names) {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`run config: member name "${name}" must be letters, digits, _ or -`);
  }
  if (new Set(names).size !== names.length) throw new Error(`run config: member names repeat (${names.join(", ")})`);
}
