// Harmonization (docs/harmonization.md): saliency, the harmonizer loss, training, evaluation and parity.

export { blurPyramid, PYRAMID_LEVELS, pyramidalMse } from "./pyramid.ts";
export { STANDARDIZE_EPSILON, standardizeCut } from "./standardize.ts";
export { evaluationSaliency, type Forward, inputGradient, type Saliency, trainingSaliency } from "./saliency.ts";
export {
  combineHarmonizerLoss, harmonizationTerm, type HarmonizerParts, type HarmonizerWeights, LABEL_SMOOTHING,
  smoothedCrossEntropy, weightL2,
} from "./loss.ts";
export {
  alignmentScore, alignmentScores, type AlignmentScores, averageRanks, binarizeTop, dice, HUMAN_CEILING,
  intersectionOverUnion, percentile, spearman,
} from "./metrics.ts";
export { AdamW, type AdamWOptions, type Optimizer, type OptimizerState, type ParameterGroup, Sgd, type SgdOptions } from "./optimizers.ts";
export { cosineSchedule, type CosineOptions, type Schedule, warmupStepSchedule, type WarmupStepOptions } from "./schedules.ts";
export { clipGradNorm } from "./clip.ts";
export type { Batch } from "../data/batch.ts";
export { harmonizedLoss, type HarmonizedOutputs, type LossOptions, type LossOutputs, plainLoss, type StepOptions, type StepResult, trainStep,
  applyGradients, type GradientResult, lossGradients } from "./train_step.ts";
export { evaluate, type EvaluationReport } from "./evaluate.ts";
export { parity, uploadBatch } from "./parity.ts";
