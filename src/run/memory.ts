/**
 * Refusing a run that will not fit before it allocates: one probe step of the model at batch 2
 * and 3 (not 1: BatchNorm in training mode needs two values per channel, and a last stage may be
 * 1×1) measures the fixed and the per-image GPU bytes of a step (the buffer pool's peak) and of
 * its largest single buffer. The whole run's need at its batch size is compared with a memory
 * budget, and its largest buffer with the device's binding limit; a refusal names the largest
 * batch size that fits.
 */
import { dispose, engine } from "../engine.ts";
import { createModel } from "../models/mod.ts";
import { ones, randomUniform, tensor } from "../ops/creation.ts";
import { lossGradients } from "../harmonize/train_step.ts";
import type { RunConfig } from "./config.ts";

/** A quantity that grows linearly with the batch: fixed + perImage · batch. */
export interface Linear {
  fixed: number;
  perImage: number;
}

export interface MemoryEstimate {
  /** One model's parameters and buffers. */
  modelBytes: number;
  /** Optimizer state of one model. */
  optimizerBytes: number;
  /** Peak extra bytes of one step. */
  step: Linear;
  /** The largest single buffer of one step. */
  largestBuffer: Linear;
}

export interface MemoryLimits {
  /** Bytes the whole run may hold (models, optimizer state, one step). */
  budgetBytes: number;
  /** Bytes one buffer may have (the adapter's maxStorageBufferBindingSize). */
  bufferBytes: number;
}

export class MemoryError extends Error {
  override name = "MemoryError";
}

const GiB = 2 ** 30;
const size = (bytes: number) => bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function probeStep(config: RunConfig, batchSize: number): { peak: number; largest: number } {
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
    const { peakBytes, largestBuffer } = pool.stats();
    dispose([result, batch]);
    return { peak: peakBytes - before, largest: largestBuffer };
  } finally {
    model.dispose();
  }
}

/** From values at batch 2 and 3. */
function linear(two: number, three: number): Linear {
  const perImage = Math.max(0, three - two);
  return { fixed: Math.max(0, two - 2 * perImage), perImage };
}

/** Measures what a run's step needs (allocates only a batch of 2 and 3 images). */
export function estimateMemory(config: RunConfig): MemoryEstimate {
  const pool = engine.backend.pool;
  const before = pool.stats().liveBytes;
  const model = createModel(config.model);
  const modelBytes = pool.stats().liveBytes - before;
  const parameterBytes = model.namedParameters().reduce((n, [, p]) => n + 4 * p.value.size, 0);
  model.dispose();
  const [two, three] = [probeStep(config, 2), probeStep(config, 3)];
  return {
    modelBytes,
    optimizerBytes: parameterBytes * (config.optimizer.name === "adamw" ? 2 : 1),
    step: linear(two.peak, three.peak),
    largestBuffer: linear(two.largest, three.largest),
  };
}

/** Bytes a run needs at `batchSize`: every member's model and optimizer state plus one step. */
export function requiredBytes(estimate: MemoryEstimate, members: number, batchSize: number): number {
  return members * (estimate.modelBytes + estimate.optimizerBytes) + estimate.step.fixed + estimate.step.perImage * batchSize;
}

/** The largest batch whose `fixed + perImage · batch` stays within `limit` (0 when not even one). */
function largestBatch(quantity: Linear, limit: number): number {
  if (quantity.perImage === 0) return quantity.fixed <= limit ? Infinity : 0;
  return Math.max(0, Math.floor((limit - quantity.fixed) / quantity.perImage));
}

function advice(fits: number): string {
  return fits >= 1 ? `use --batch-size ${fits} or less` : "not even one image per batch fits: use a smaller model or image size";
}

/** Throws a MemoryError naming the need, the limit and the largest batch size that fits. */
export function checkMemory(config: RunConfig, estimate: MemoryEstimate, limits: MemoryLimits): void {
  const { batchSize } = config;
  const members = config.members.length;
  const need = requiredBytes(estimate, members, batchSize);
  if (need > limits.budgetBytes) {
    const models = members * (estimate.modelBytes + estimate.optimizerBytes);
    const fits = largestBatch({ fixed: models + estimate.step.fixed, perImage: estimate.step.perImage }, limits.budgetBytes);
    throw new MemoryError(
      `a batch of ${batchSize} needs about ${size(need)} (${members} model(s) ${size(models)}, ${size(estimate.step.perImage)} per image) ` +
        `but the memory budget is ${size(limits.budgetBytes)}: ${advice(fits)}`,
    );
  }
  const largest = estimate.largestBuffer.fixed + estimate.largestBuffer.perImage * batchSize;
  if (largest > limits.bufferBytes) {
    throw new MemoryError(
      `a batch of ${batchSize} needs a single buffer of about ${size(largest)}, more than the ${size(limits.bufferBytes)} ` +
        `this adapter binds at once (maxStorageBufferBindingSize): ${advice(largestBatch(estimate.largestBuffer, limits.bufferBytes))}`,
    );
  }
}
