/**
 * Evaluation (SPEC §3): top-1 accuracy on every image, alignment on the images with a human map,
 * using the evaluation explainer |∂ logit_label/∂x| (max over channels) in eval mode.
 */
import { tidy } from "../engine.ts";
import type { Module } from "../nn/module.ts";
import { oneHot } from "../ops/indexing.ts";
import { argmax } from "../ops/reduce.ts";
import { evaluationSaliency, inputGradient } from "./saliency.ts";
import { alignmentScore, alignmentScores } from "./metrics.ts";
import type { Batch } from "./train_step.ts";

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

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function evaluate(model: Module, batches: AsyncIterable<Batch> | Iterable<Batch>, classes: number): Promise<EvaluationReport> {
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
