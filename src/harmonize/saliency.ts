/**
 * Input-gradient saliency maps. Training (docs/harmonization.md §1.2): the signed channel mean of
 * ∂(Σ logits·onehot)/∂x, kept differentiable. Evaluation (docs/harmonization.md §3.1): |∂ logit_label/∂x|, max over channels.
 */
import type { Tensor } from "../tensor.ts";
import { abs, mul } from "../ops/elementwise.ts";
import { max, mean, sum } from "../ops/reduce.ts";
import { valueAndGradWithAux } from "../autograd/grad.ts";

export type Forward = (images: Tensor) => Tensor;

export interface Saliency {
  /** [N, K] logits of the forward pass that produced the gradient (differentiable). */
  logits: Tensor;
  /** [N, C, H, W] ∂(Σ logits·onehot)/∂x. */
  gradient: Tensor;
}

/** One forward pass gives both the logits and the input gradient; both stay in any outer tape. */
export function inputGradient(forward: Forward, images: Tensor, onehot: Tensor): Saliency {
  const [score, logits, gradient] = valueAndGradWithAux((x: Tensor) => {
    const out = forward(x);
    return [sum(mul(out, onehot)), out] as const;
  })(images);
  score.dispose();
  return { logits, gradient };
}

/** docs/harmonization.md §1.2: S[n, h, w] = mean_c g[n, c, h, w], signed. */
export function trainingSaliency(gradient: Tensor): Tensor {
  return mean(gradient, 1);
}

/** docs/harmonization.md §3.1: max_c |g[n, c, h, w]|. */
export function evaluationSaliency(gradient: Tensor): Tensor {
  return max(abs(gradient), 1);
}
