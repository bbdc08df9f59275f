/**
 * A gradient tape records every primitive applied to a tensor that depends on its watched inputs.
 * Tapes nest: an outer tape also records the backward pass of an inner one, which is how
 * gradients of gradients arise.
 */
import type { Recorder } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import type { Node } from "../primitive.ts";

export class Tape implements Recorder {
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
    for (const t of node.inputs) t.retain();
    node.output.retain();
    this.nodes.push(node);
  }

  /** Lets go of every tensor the nodes hold. */
  close(): void {
    for (const node of this.nodes) {
      for (const t of node.inputs) t.release();
      node.output.release();
    }
    this.nodes.length = 0;
    this.dependents.clear();
  }
}
