/**
 * The harmonizer loss (docs/harmonization.md §1): L = L_ce + λ_w·L_w + λ_h·L_h, every part returned for logging.
 */
import type { Tensor } from "../tensor.ts";
import { add, div, mul, neg } from "../ops/elementwise.ts";
import { max, mean, sum, sumSquares } from "../ops/reduce.ts";
import { reshape, stopGradient } from "../ops/movement.ts";
import { logSoftmax } from "../ops/softmax.ts";
import { standardizeCut } from "./standardize.ts";
import { pyramidalMse } from "./pyramid.ts";

export const LABEL_SMOOTHING = 0.1;

/** docs/harmonization.md §1.8: mean_n CE(logits[n], (1 − s)·onehot[n] + s/K). */
export function smoothedCrossEntropy(logits: Tensor, onehot: Tensor, smoothing = LABEL_SMOOTHING): Tensor {
  const classes = logits.shape[logits.rank - 1];
  const target = add(mul(onehot, 1 - smoothing), smoothing / classes);
  return neg(mean(sum(mul(target, logSoftmax(logits, -1)), -1)));
}

/**
 * docs/harmonization.md §1.9: Σ ½‖θ‖² over the given parameters — every trainable one except normalisation
 * parameters, embeddings and the class token (each module lists those: Module.noWeightDecay, weightDecayGroups).
 */
export function weightL2(decayed: readonly Tensor[]): Tensor {
  if (decayed.length === 0) throw new Error("weightL2: no parameter is subject to weight decay");
  // sumSquares: no squared copy forward, and its gradient is one multiply per parameter (no broadcast copy).
  return mul(decayed.map((value) => sumSquares(value)).reduce((a, b) => add(a, b)), 0.5);
}

/** The maps the pyramid compares: S' = z(S), and Hm'' = z(Hm) rescaled to the range of S'. */
export function comparedMaps(saliency: Tensor, heatmaps: Tensor): { saliency: Tensor; human: Tensor } {
  const s = standardizeCut(saliency);
  const hm = standardizeCut(heatmaps);
  const [n] = hm.shape;
  // §1.5: rescale the human map to the saliency's range; no gradient through the saliency's max.
  const hmMax = reshape(max(hm, [1, 2]), [n, 1, 1]);
  const sMax = reshape(stopGradient(max(s, [1, 2])), [n, 1, 1]);
  return { saliency: s, human: mul(div(hm, add(hmMax, 1e-6)), add(sMax, 1e-6)) };
}

/** docs/harmonization.md §1.3–1.7 from a training saliency S [N, H, W] and human maps [N, H, W]. */
export function harmonizationTerm(saliency: Tensor, heatmaps: Tensor, tokens: Tensor): Tensor {
  const maps = comparedMaps(saliency, heatmaps);
  return pyramidalMse(maps.saliency, maps.human, tokens);
}

export interface HarmonizerWeights {
  /** λ_h, default 1. */
  harmonization?: number;
  /** λ_w, default 1e-5. */
  weightDecay?: number;
}

export interface HarmonizerParts {
  total: Tensor;
  crossEntropy: Tensor;
  harmonization: Tensor;
  weightL2: Tensor;
}

/** docs/harmonization.md §1.10. */
export function combineHarmonizerLoss(
  parts: Omit<HarmonizerParts, "total">,
  { harmonization = 1, weightDecay = 1e-5 }: HarmonizerWeights = {},
): HarmonizerParts {
  const total = add(add(parts.crossEntropy, mul(parts.weightL2, weightDecay)), mul(parts.harmonization, harmonization));
  return { ...parts, total };
}
