/**
 * Refusing a run that will not fit before it allocates: one probe step of the model at batch 1
 * and 2 measures the fixed and the per-image GPU bytes of a step (the buffer pool's peak), and the
 * whole run's need at its batch size is compared with a budget, suggesting the largest batch that fits.
 */
import { dispose, engine } from "../engine.ts";
import { createModel } from "../models/mod.ts";
import { ones, randomUniform, tensor } from "../ops/creation.ts";
import { lossGradients } from "../harmonize/train_step.ts";
import type { RunConfig } from "./config.ts";

export interface MemoryEstimate {
  /** One model's parameters and buffers. */
  modelBytes: number;
  /** Optimizer state of one model. */
  optimizerBytes: number;
  /** Peak extra bytes of one step: fixed part and part per image. */
  stepFixedBytes: number;
  stepPerImageBytes: number;
}

export class MemoryError extends Error {
  override name = "MemoryError";
}

const GiB = 2 ** 30;
const gib = (bytes: number) => bytes >= GiB / 10 ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function probeStep(config: RunConfig, batchSize: number): number {
  const { imageSize: s, classes } = config;
  const model = createModel(config.model);
  const pool = engine.backend.pool;
  try {
    const before = pool.stats().liveBytes;
    pool.resetPeak();
    const batch = {
      images: randomUniform([batchSize, 3, s, s], { seed: 1 }),
      heatmaps: randomUniform([batchSize, s, s], { seed: 2 }),
      labels: tensor(new Int32Array(batchSize).map((_, i) => i % classes), [batchSize], "int32"),
      tokens: ones([batchSize]),
    };
    const mode = config.members.some((m) => m.mode === "harmonized") ? "harmonized" : "plain";
    const result = lossGradients(model, batch, { classes, mode, ...config.loss });
    const peak = pool.stats().peakBytes - before;
    dispose([result, batch]);
    return peak;
  } finally {
    model.dispose();
  }
}

/** Measures what a run's step needs (allocates only a batch of 1 and 2 images). */
export function estimateMemory(config: RunConfig): MemoryEstimate {
  const pool = engine.backend.pool;
  const before = pool.stats().liveBytes;
  const model = createModel(config.model);
  const modelBytes = pool.stats().liveBytes - before;
  const parameterBytes = model.namedParameters().reduce((n, [, p]) => n + 4 * p.value.size, 0);
  model.dispose();
  const [one, two] = [probeStep(config, 1), probeStep(config, 2)];
  const perImage = Math.max(0, two - one);
  return {
    modelBytes,
    optimizerBytes: parameterBytes * (config.optimizer.name === "adamw" ? 2 : 1),
    stepFixedBytes: Math.max(0, one - perImage),
    stepPerImageBytes: perImage,
  };
}

/** Bytes a run needs at `batchSize`: every member's model and optimizer state plus one step. */
export function requiredBytes(estimate: MemoryEstimate, members: number, batchSize: number): number {
  return members * (estimate.modelBytes + estimate.optimizerBytes) + estimate.stepFixedBytes + estimate.stepPerImageBytes * batchSize;
}

/** Throws a MemoryError naming the need, the budget and the largest batch size that fits. */
export function checkMemory(config: RunConfig, estimate: MemoryEstimate, budgetBytes: number): void {
  const members = config.members.length;
  const need = requiredBytes(estimate, members, config.batchSize);
  if (need <= budgetBytes) return;
  const room = budgetBytes - requiredBytes(estimate, members, 0);
  const fits = estimate.stepPerImageBytes > 0 ? Math.floor(room / estimate.stepPerImageBytes) : 0;
  const advice = fits >= 1
    ? `use --batch-size ${fits} or less`
    : "not even one image per batch fits: use a smaller model or image size";
  throw new MemoryError(
    `a batch of ${config.batchSize} needs about ${gib(need)} (${members} model(s) ${gib(members * (estimate.modelBytes + estimate.optimizerBytes))}, ` +
      `${gib(estimate.stepPerImageBytes)} per image) but the memory budget is ${gib(budgetBytes)}: ${advice}`,
  );
}
