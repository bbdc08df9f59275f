/**
 * One model of a run with its optimizer. A step computes the loss parts and gradients, reads them
 * back once, and updates the weights only when every part and every gradient is finite.
 */
import { dispose, tidy } from "../engine.ts";
import type { Model } from "../models/mod.ts";
import { Dropout } from "../nn/dropout.ts";
import type { Module } from "../nn/module.ts";
import { sumSquares } from "../ops/reduce.ts";
import { stack } from "../ops/movement.ts";
import type { Batch } from "../data/batch.ts";
import type { Optimizer } from "../harmonize/optimizers.ts";
import { applyGradients, lossGradients } from "../harmonize/train_step.ts";
import type { MemberMode } from "./config.ts";

export interface LossValues {
  total: number;
  crossEntropy: number;
  harmonization: number;
  weightL2: number;
}

const PARTS = ["total", "crossEntropy", "harmonization", "weightL2"] as const;

/** A loss part or a gradient that became NaN or ±Inf; the weights were not updated. */
export class NonFiniteError extends Error {
  override name = "NonFiniteError";
  constructor(readonly member: string, readonly step: number, readonly what: string, readonly value: number) {
    super(`the ${member} model's ${what} became ${value} at step ${step}; its weights were not updated`);
  }
}

export interface MemberStepOptions {
  step: number;
  lr: number;
  classes: number;
  harmonization: number;
  weightDecay: number;
  clipNorm?: number;
}

/** Every Dropout below `module`, by dotted path: their seed streams are the model's RNG state. */
export function namedDropouts(module: Module, prefix = ""): [string, Dropout][] {
  const out: [string, Dropout][] = [];
  for (const [name, child] of module.namedChildren()) {
    if (child instanceof Dropout) out.push([prefix + name, child]);
    out.push(...namedDropouts(child, `${prefix}${name}.`));
  }
  return out;
}

export class Member {
  constructor(readonly name: string, readonly mode: MemberMode, readonly model: Model, readonly optimizer: Optimizer) {}

  async step(batch: Batch, options: MemberStepOptions): Promise<LossValues> {
    const { parts, logits, grads } = lossGradients(this.model, batch, { ...options, mode: this.mode });
    try {
      const names = Object.keys(grads);
      const readout = tidy(() => stack([...PARTS.map((p) => parts[p]), ...names.map((n) => sumSquares(grads[n]))]));
      const values = await readout.data();
      readout.dispose();
      const loss = Object.fromEntries(PARTS.map((p, i) => [p, values[i]])) as unknown as LossValues;
      PARTS.forEach((part, i) => {
        if (!Number.isFinite(values[i])) throw new NonFiniteError(this.name, options.step, `${part} loss`, values[i]);
      });
      names.forEach((name, i) => {
        const square = values[PARTS.length + i];
        if (!Number.isFinite(square)) throw new NonFiniteError(this.name, options.step, `gradient of ${name} (squared norm)`, square);
      });
      dispose(applyGradients(this.optimizer, grads, options.lr, options.clipNorm));
      return loss;
    } finally {
      dispose([parts, logits, grads]);
    }
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
