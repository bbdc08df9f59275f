/**
 * The mutable holder of one model tensor (a trainable parameter or a buffer such as BatchNorm's
 * running mean). Tensors are immutable, so "updating a parameter" means `assign`ing a new tensor:
 * the holder takes it out of every tidy scope (so it survives the step that made it) and disposes
 * the value it replaces.
 */
import { keep } from "../engine.ts";
import { sameShape, type Tensor } from "../tensor.ts";

export class Parameter {
  private current: Tensor;

  /**
   * @param value the initial tensor; the holder owns it from now on.
   * @param weightDecay whether an L2 penalty applies (false for normalisation parameters,
   *   position/patch embeddings and class tokens, as in the harmonization loss).
   */
  constructor(value: Tensor, readonly weightDecay = true) {
    this.current = keep(value);
  }

  get value(): Tensor {
    return this.current;
  }

  get shape(): readonly number[] {
    return this.current.shape;
  }

  /** Replaces the value with `next` (same shape and dtype) and disposes the old one. */
  assign(next: Tensor): void {
    if (next === this.current) return;
    if (!sameShape(next.shape, this.current.shape) || next.dtype !== this.current.dtype) {
      throw new Error(`Parameter.assign: expected ${this.current}, got ${next}`);
    }
    const previous = this.current;
    this.current = keep(next);
    previous.dispose();
  }

  dispose(): void {
    this.current.dispose();
  }
}
