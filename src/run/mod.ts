// Training runs (docs/runs.md): the run model shared by the CLI and the browser.

export {
  BOTH_MEMBERS, checkRunConfig, createOptimizer, createSchedule, type LossConfig, type MemberMode, membersFor,
  type MemberSpec, type OptimizerConfig, type RunConfig, type ScheduleConfig,
} from "./config.ts";
export { countRecords, epochSeed, loaderData, type LoaderDataOptions, type RunData, skipSamples } from "./data.ts";
export type { CheckpointEvent, CheckpointReason, EvalEvent, EvaluatingEvent, LogEvent, RunEvent, SkipEvent, StepEvent } from "./events.ts";
export { type LossValues, Member, type MemberStepOptions, namedDropouts, NonFiniteError } from "./member.ts";
export {
  type CheckpointState, commitCheckpoint, type LatestPointer, loadCheckpoint, memberDir, readLatest, type RunPosition,
  type RunSettings, saveCheckpoint, stepDir,
} from "./checkpoint.ts";
export { checkMemory, estimateMemory, type Linear, type MemoryEstimate, MemoryError, type MemoryLimits, requiredBytes } from "./memory.ts";
export { appendText, MemoryStorage, readJson, readText, type RunStorage, writeText } from "./storage.ts";
export { CONFIG_FILE, type Listener, METRICS_FILE, Run, type RunOptions, type TrainOutcome } from "./run.ts";
export { HARMONIZE_VERSION } from "./version.ts";
export {
  classNames, countTrainingRecords, type DataSpec, defaultAugment, type EmbeddedSpec, embeddedShards, embeddedSpec, runData,
  validationShards,
} from "./dataset.ts";
export { type EmbeddedDataOptions, MAIN_RECIPE, type Recipe, recipeSteps } from "./recipe.ts";
