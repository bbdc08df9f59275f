/**
 * A gradient tape records every primitive applied to a tensor that depends on its watched inputs.
 * Tapes nest: an outer tape also records the backward pass of an inner one, which is how
 * gradients of gradients arise.
 */
import { engine } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import type { Primitive, PrimitiveAttrs } from "./primitive.ts";

export interface Node<P extends Primitive = Primitive> {
  primitive: P;
  inputs: Tensor[];
  attrs: PrimitiveAttrs[P];
  output: Tensor;
}

export class Tape {
  readonly nodes: Node[] = [];
  private readonly dependents = new Set<Tensor>();

  watch(t: Tensor): void {
    this.dependents.add(t);
  }

  dependsOnInputs(t: Tensor): boolean {
    return this.dependents.has(t);
  }

  /** Records `node` if any of its inputs depends on the watched tensors; the node holds its tensors. */
  maybeRecord(node: Node): void {
    if (!node.inputs.some((t) => this.dependents.has(t))) return;
    this.dependents.add(node.output);
    for (const t of node.inputs) engine.retain(t);
    engine.retain(node.output);
    this.nodes.push(node);
  }

  /** Lets go of every tensor the nodes hold. */
  close(): void {
    for (const node of this.nodes) {
      for (const t of node.inputs) engine.release(t);
      engine.release(node.output);
    }
    this.nodes.length = 0;
    this.dependents.clear();
  }
}
