/**
 * The mutable holder of one model tensor, the base of Parameter (trained) and Buffer (state such as
 * BatchNorm's running mean). Tensors are immutable, so "updating" means `assign`ing a new tensor: the
 * holder takes it out of every tidy scope (so it survives the step that made it) and disposes the
 * value it replaces.
 */
import { keep } from "../engine.ts";
import { sameShape, type Tensor } from "../tensor.ts";

export abstract class TensorHolder {
  private current: Tensor;

  /** @param value the initial tensor; the holder owns it from now on. */
  constructor(value: Tensor) {
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
      throw new Error(`${this.constructor.name}.assign: expected ${this.current}, got ${next}`);
    }
    const previous = this.current;
    this.current = keep(next);
    previous.dispose();
  }

  dispose(): void {
    this.current.dispose();
  }
}
