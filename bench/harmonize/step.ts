/**
 * Our training step as a benchmark workload, and the synthetic batch it runs on (shared by
 * bench/harmonize and bench/gpu).
 */
import { dispose, memory, tensor } from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import type { BatchNormVariant } from "../../src/backend/kernel_policy.ts";
import type { Model } from "../../src/models/mod.ts";
import { Sgd } from "../../src/harmonize/optimizers.ts";
import { type StepOptions, type StepResult, trainStep } from "../../src/harmonize/train_step.ts";
import type { Batch } from "../../src/data/batch.ts";
import { randomHost } from "../lib.ts";
import type { Workload } from "../peers/peer.ts";
import type { HostBatch } from "../peers/jaxjs_resnet.ts";

/** The synthetic batch: images and maps from seeds 1 and 2, label n → n + 1, every 4th image without a map (t = 0). */
export function hostBatch(batchSize: number, size: number, classes: number): HostBatch {
  const labels = Array.from({ length: batchSize }, (_, i) => (i + 1) % classes);
  const onehot = new Float32Array(batchSize * classes);
  labels.forEach((label, i) => (onehot[i * classes + label] = 1));
  return {
    images: randomHost([batchSize, 3, size, size], 1),
    heatmaps: randomHost([batchSize, size, size], 2),
    onehot: { data: onehot, shape: [batchSize, classes] },
    tokens: { data: new Float32Array(labels.map((_, i) => (i % 4 === 3 ? 0 : 1))), shape: [batchSize] },
  };
}

export function uploadBatch(host: HostBatch): Batch {
  const [batchSize, classes] = host.onehot.shape;
  const labels = Array.from({ length: batchSize }, (_, i) => host.onehot.data.subarray(i * classes, (i + 1) * classes).indexOf(1));
  return {
    images: tensor(host.images.data, host.images.shape),
    heatmaps: tensor(host.heatmaps.data, host.heatmaps.shape),
    labels: tensor(new Int32Array(labels), [batchSize], "int32"),
    tokens: tensor(host.tokens.data, host.tokens.shape),
  };
}

/**
 * One SGD step per run() (with the given batch-norm kernel variant, else the policy's); run()
 * resets the pool's peak, sync() reads the loss back and records the step's peak bytes. Each run()
 * uploads the images anew, as training does with every batch: the texture convolutions keep an
 * input's packing beside its storage, which one reused images tensor would carry from step to step.
 */
export function oursStepWorkload(
  model: Model,
  host: HostBatch,
  options: Omit<StepOptions, "clipNorm">,
  batchNorm?: BatchNormVariant,
): Workload & { peakBytes: () => number } {
  let batch = uploadBatch(host);
  const optimizer = new Sgd(model.namedParameters());
  let result: StepResult | null = null;
  let loss = NaN;
  let peak = 0;
  return {
    run() {
      dispose(result);
      result = null;
      engine.backend.pool.resetPeak();
      if (batchNorm) engine.backend.setKernelVariant("batchNorm", batchNorm);
      batch.images.dispose();
      batch = { ...batch, images: tensor(host.images.data, host.images.shape) };
      result = trainStep(model, optimizer, batch, options);
    },
    async sync() {
      if (result) loss = await result.parts.total.item();
      peak = memory().peakBytes;
    },
    peakBytes: () => peak,
    read: () => Promise.resolve(new Float32Array([loss])),
    dispose() {
      dispose(result);
      result = null;
      dispose(batch);
      optimizer.dispose();
    },
  };
}
