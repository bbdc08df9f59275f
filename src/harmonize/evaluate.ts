/**
 * Evaluation (docs/harmonization.md §3): top-1 accuracy on every image, alignment on the images with a human map,
 * using the evaluation explainer |∂ logit_label/∂x| (max over channels) in eval mode.
 */
import { tidy } from "../engine.ts";
import type { Module } from "../nn/module.ts";
import { oneHot } from "../ops/indexing.ts";
import { argmax } from "../ops/reduce.ts";
import { evaluationSaliency, inputGradient } from "./saliency.ts";
import { alignmentScore, alignmentScores } from "./metrics.ts";
import type { Batch } from "../data/batch.ts";

export interface EvaluationReport {
  images: number;
  accuracy: number;
  /** Images with a human map (t = 1), on which the alignment metrics are computed. */
  mapped: number;
  spearman: number;
  dice: number;
  iou: number;
  alignmentScore: number;
}

/** One evaluated batch on the host, for callers that look closer (inspectModel); `batch` is still on the GPU. */
export interface EvaluatedBatch {
  batch: Batch;
  predicted: ArrayLike<number>;
  labels: ArrayLike<number>;
  /** Evaluation saliency maps [N, H, W], back to back. */
  saliency: Float32Array;
  heatmaps: Float32Array;
  tokens: ArrayLike<number>;
}

export type BatchObserver = (seen: EvaluatedBatch) => void | Promise<void>;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** `observe`, when given, sees each batch after it is scored, with the model still in eval mode. */
export async function evaluate(
  model: Module,
  batches: AsyncIterable<Batch> | Iterable<Batch>,
  classes: number,
  observe?: BatchObserver,
): Promise<EvaluationReport> {
  const wasTraining = model.training;
  model.eval();
  let images = 0;
  let correct = 0;
  const rho: number[] = [];
  const dices: number[] = [];
  const ious: number[] = [];
  try {
    for await (const batch of batches) {
      const [predicted, saliency] = tidy(() => {
        const { logits, gradient } = inputGradient((x) => model.forward(x), batch.images, oneHot(batch.labels, classes));
        return [argmax(logits, 1), evaluationSaliency(gradient)];
      });
      const [pred, labels, maps, human, tokens] = await Promise.all([
        predicted.data(), batch.labels.data(), saliency.data(), batch.heatmaps.data(), batch.tokens.data(),
      ]);
      predicted.dispose();
      saliency.dispose();
      const pixels = maps.length / pred.length;
      pred.forEach((p, i) => (correct += p === labels[i] ? 1 : 0));
      images += pred.length;
      for (let i = 0; i < pred.length; i++) {
        if (tokens[i] === 0) continue;
        const scores = alignmentScores(maps.subarray(i * pixels, (i + 1) * pixels), human.subarray(i * pixels, (i + 1) * pixels), pixels);
        rho.push(scores.spearman[0]);
        dices.push(scores.dice[0]);
        ious.push(scores.iou[0]);
      }
      await observe?.({ batch, predicted: pred, labels, saliency: maps as Float32Array, heatmaps: human as Float32Array, tokens });
    }
  } finally {
    model.train(wasTraining);
  }
  return {
    images,
    accuracy: images ? correct / images : NaN,
    mapped: rho.length,
    spearman: mean(rho),
    dice: mean(dices),
    iou: mean(ious),
    alignmentScore: alignmentScore(rho),
  };
}
