/** What a run reports while it trains: the CLI prints and logs these, a browser worker posts them. */

export interface StepEvent {
  type: "step";
  member: string;
  /** Steps completed, this one included. */
  step: number;
  epoch: number;
  lr: number;
  total: number;
  crossEntropy: number;
  harmonization: number;
  weightL2: number;
  imagesPerSecond: number;
  time: string;
}

/** An evaluation begins (not logged): it can take a while, and a stop may cut it short. */
export interface EvaluatingEvent {
  type: "evaluating";
  step: number;
  epoch: number;
}

export interface EvalEvent {
  type: "eval";
  member: string;
  step: number;
  epoch: number;
  accuracy: number;
  alignmentScore: number;
  spearman: number;
  dice: number;
  iou: number;
  images: number;
  mapped: number;
}

export interface CheckpointEvent {
  type: "checkpoint";
  step: number;
  epoch: number;
  reason: CheckpointReason;
  /** Where each member's checkpoint lies, by member name (storage.describe of the folder). */
  paths: Record<string, string>;
}

export type CheckpointReason = "interval" | "epoch" | "stop" | "end";

/** A corrupt record skipped under the skip policy. */
export interface SkipEvent {
  type: "skip";
  step: number;
  shard: string;
  record: number;
  offset: number;
  reason: string;
}

export interface LogEvent {
  type: "log";
  message: string;
}

export type RunEvent = StepEvent | EvaluatingEvent | EvalEvent | CheckpointEvent | SkipEvent | LogEvent;

/** The events written to metrics.jsonl, one JSON object per line. */
export const LOGGED_EVENTS: ReadonlySet<RunEvent["type"]> = new Set(["step", "eval", "skip"]);
