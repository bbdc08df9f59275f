/**
 * A gradient tape records every primitive applied to a tensor that depends on its watched inputs.
 * Tapes nest: an outer tape also records the backward pass of an inner one, which is how
 * gradients of gradients arise.
 *
 * Memory: a recorded node holds (retains) only the tensors its gradient rule reads (SAVED in
 * rules.ts); the others may be freed as soon as their owner lets go. Primitives without a gradient
 * (comparisons, argmax, …) are not recorded, and their outputs do not count as depending on the
 * inputs. The backward pass takes the nodes off the tape last first and lets go of each one's
 * tensors as soon as its rule has run.
 */
import type { Recorder } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import type { Node } from "../primitive.ts";
import { RULES, savedTensors } from "./rules.ts";

interface Recorded {
  node: Node;
  saved: Tensor[];
}

export class Tape implements Recorder {
  private readonly recorded: Recorded[] = [];
  private readonly dependents = new Set<Tensor>();
  private readonly readers = new Map<Tensor, number>();

  watch(t: Tensor): void {
    this.dependents.add(t);
  }

  dependsOnInputs(t: Tensor): boolean {
    return this.dependents.has(t);
  }

  /** How many times recorded nodes take `t` as an input: the most cotangent contributions it can get. */
  readersOf(t: Tensor): number {
    return this.readers.get(t) ?? 0;
  }

  /** Records `node` if it has a gradient and any of its inputs depends on the watched tensors. */
  maybeRecord(node: Node): void {
    if (RULES[node.primitive] === null || !node.inputs.some((t) => this.dependents.has(t))) return;
    for (const t of node.inputs) if (this.dependents.has(t)) this.readers.set(t, this.readersOf(t) + 1);
    this.dependents.add(node.output);
    const saved = savedTensors(node, node.inputs.map((t) => this.dependents.has(t)));
    for (const t of saved) t.retain();
    this.recorded.push({ node, saved });
  }

  /**
   * Runs `visit` on every node, last recorded first, letting go of each node's tensors right
   * after its visit (the tape is empty afterwards, even if `visit` throws).
   */
  consumeBackwards(visit: (node: Node) => void): void {
    for (let entry = this.recorded.pop(); entry; entry = this.recorded.pop()) {
      try {
        visit(entry.node);
      } finally {
        for (const t of entry.saved) t.release();
      }
    }
  }

  /** Lets go of every tensor the nodes still hold. */
  close(): void {
    for (const { saved } of this.recorded) for (const t of saved) t.release();
    this.recorded.length = 0;
    this.dependents.clear();
    this.readers.clear();
  }
}
