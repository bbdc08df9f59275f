/**
 * One training step (docs/harmonization.md §1): forward, saliency, loss, double backprop, update — for any Module
 * whose forward maps images [N, C, H, W] to logits [N, K]. The plain cross-entropy step is the
 * baseline it is compared with.
 */
import { tidy } from "../engine.ts";
import { markPhase } from "../profile.ts";
import { scalar } from "../ops/creation.ts";
import type { Tensor } from "../tensor.ts";
import type { Module, ParameterTree } from "../nn/module.ts";
import { weightDecayGroups } from "../nn/parameter_groups.ts";
import { valueAndGradWithAux } from "../autograd/grad.ts";
import { oneHot } from "../ops/indexing.ts";
import { inputGradient, trainingSaliency } from "./saliency.ts";
import { combineHarmonizerLoss, harmonizationTerm, type HarmonizerParts, type HarmonizerWeights, smoothedCrossEntropy, weightL2 } from "./loss.ts";
import { clipGradNorm } from "./clip.ts";
import type { Optimizer } from "./optimizers.ts";
import type { Batch } from "../data/batch.ts";

export interface LossOptions extends HarmonizerWeights {
  classes: number;
}

export interface LossOutputs {
  parts: HarmonizerParts;
  logits: Tensor;
}

export interface HarmonizedOutputs extends LossOutputs {
  /** The training saliency S [N, H, W] the harmonization term compared. */
  saliency: Tensor;
}

function decayedParameters(model: Module): Tensor[] {
  return weightDecayGroups(model).decay.map(([, p]) => p.value);
}

/** docs/harmonization.md §1.1–1.10, differentiable w.r.t. the model's parameters. */
export function harmonizedLoss(model: Module, batch: Batch, options: LossOptions): HarmonizedOutputs {
  markPhase("forward");
  const onehot = oneHot(batch.labels, options.classes);
  const { logits, gradient } = inputGradient((x) => {
    const out = model.forward(x);
    markPhase("saliency");
    return out;
  }, batch.images, onehot);
  const saliency = trainingSaliency(gradient);
  const parts = combineHarmonizerLoss({
    crossEntropy: smoothedCrossEntropy(logits, onehot),
    harmonization: harmonizationTerm(saliency, batch.heatmaps, batch.tokens),
    weightL2: weightL2(decayedParameters(model)),
  }, options);
  return { parts, logits, saliency };
}

/** The baseline: L = L_ce + λ_w·L_w, no saliency term (the harmonization part is reported as 0). */
export function plainLoss(model: Module, batch: Batch, options: LossOptions): LossOutputs {
  markPhase("forward");
  const onehot = oneHot(batch.labels, options.classes);
  const logits = model.forward(batch.images);
  const crossEntropy = smoothedCrossEntropy(logits, onehot);
  const l2 = weightL2(decayedParameters(model));
  const parts = combineHarmonizerLoss({ crossEntropy, harmonization: scalar(0), weightL2: l2 }, { ...options, harmonization: 0 });
  return { parts, logits };
}

export interface StepOptions extends LossOptions {
  mode: "harmonized" | "plain";
  lr: number;
  /** Clip the global gradient norm to this value. */
  clipNorm?: number;
}

export interface StepResult {
  parts: HarmonizerParts;
  logits: Tensor;
  /** Global gradient norm before clipping. */
  gradNorm?: Tensor;
}

export interface GradientResult {
  parts: HarmonizerParts;
  logits: Tensor;
  /** d total / d parameter, by parameter name (before any clipping). */
  grads: Record<string, Tensor>;
}

/** Forward, loss and backward in training mode, without touching the weights; the tensors are the caller's. */
export function lossGradients(model: Module, batch: Batch, options: LossOptions & { mode: "harmonized" | "plain" }): GradientResult {
  model.train();
  return tidy(() => {
    const lossOf = options.mode === "harmonized" ? harmonizedLoss : plainLoss;
    const [, outputs, grads] = valueAndGradWithAux((_: ParameterTree) => {
      const out = lossOf(model, batch, options);
      markPhase(options.mode === "harmonized" ? "double backward" : "backward");
      return [out.parts.total, out] as const;
    })(model.parameterTree());
    return { parts: outputs.parts, logits: outputs.logits, grads };
  });
}

/** Clips (when asked) and applies gradients; returns the global norm before clipping when clipping. */
export function applyGradients(optimizer: Optimizer, grads: Record<string, Tensor>, lr: number, clipNorm?: number): Tensor | undefined {
  markPhase("optimizer");
  return tidy(() => {
    if (clipNorm === undefined) {
      optimizer.step(grads, lr);
      return undefined;
    }
    const clipped = clipGradNorm(grads, clipNorm);
    optimizer.step(clipped.grads, lr);
    return clipped.norm;
  });
}

/** Runs one step and updates the model; the returned tensors are the caller's to dispose. */
export function trainStep(model: Module, optimizer: Optimizer, batch: Batch, options: StepOptions): StepResult {
  const { parts, logits, grads } = lossGradients(model, batch, options);
  const gradNorm = applyGradients(optimizer, grads, options.lr, options.clipNorm);
  for (const g of Object.values(grads)) g.dispose();
  return { parts, logits, ...(gradNorm ? { gradNorm } : {}) };
}
