/**
 * Reverse-mode autodiff. `grad(f)(x)` runs f on a fresh tape that watches the tensors of x, then
 * walks the tape backwards applying RULES. Tapes opened outside keep recording meanwhile, so the
 * backward pass of an inner grad is differentiable by an outer one: grad(grad(f)) just works.
 */
import { engine, type TensorTree, tidy, treeLeaves } from "../engine.ts";
import { Tensor, whileRunningGradientRules } from "../tensor.ts";
import type { Node } from "../primitive.ts";
import { Tape } from "./tape.ts";
import { COTANGENT_TERMS, computeTerm, type CotangentTerm, RULES } from "./rules.ts";
import { add } from "../ops/elementwise.ts";
import { ones, zeros } from "../ops/creation.ts";
import { addN } from "../ops/add_n.ts";
import { matmulSum, matmulSumFuses } from "../ops/matmul.ts";
import { sumProducts, sumProductsFits } from "../ops/sum_products.ts";

/** A cotangent term not computed yet (COTANGENT_TERMS); it holds its operands until it is. */
class Pending {
  private readonly operands: Tensor[];

  constructor(readonly term: CotangentTerm) {
    this.operands = "product" in term ? [term.product.a, term.product.b] : term.columns;
    for (const t of this.operands) t.retain();
  }

  release(): void {
    for (const t of this.operands) t.release();
  }
}

type Contribution = Tensor | Pending;

/**
 * The contributions as tensors in their order. Pending products become one matmulSum and pending
 * column sums one sumProducts (each at its first term's place) where the backend runs them as one
 * pass; otherwise each term is computed in its place, with the bits of the rule that made it.
 */
function computed(list: readonly Contribution[]): Tensor[] {
  const products = list.flatMap((c) => (c instanceof Pending && "product" in c.term ? [c.term.product] : []));
  const columns = list.flatMap((c) => (c instanceof Pending && "columns" in c.term ? [c.term.columns] : []));
  const fused = {
    product: products.length > 1 && matmulSumFuses(products) ? matmulSum(products) : null,
    columns: columns.length > 1 && sumProductsFits(columns) ? sumProducts(columns) : null,
  };
  const seen = new Set<keyof typeof fused>();
  return list.flatMap((c) => {
    if (c instanceof Tensor) return [c];
    const kind = "product" in c.term ? "product" : "columns";
    const sum = fused[kind];
    if (!sum) return [computeTerm(c.term)];
    if (seen.has(kind)) return [];
    seen.add(kind);
    return [sum];
  });
}

/** Replaces the leaves of `tree` (in treeLeaves order) with `values`. */
function rebuild<T>(tree: T, values: Tensor[]): T {
  let i = 0;
  const walk = (node: unknown): unknown => {
    if (node instanceof Tensor) return values[i++];
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === "object" && Object.getPrototypeOf(node) === Object.prototype) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    }
    return node;
  };
  return walk(tree) as T;
}

/**
 * Cotangents of the watched inputs (and of tensors no node produced), seeded with dy = 1. Each
 * node leaves the tape as its rule runs; its output's cotangent, and every contribution summed into
 * one, is disposed as soon as nothing refers to it any more (an outer tape recording this pass keeps
 * what its own rules need). A tensor's contributions wait in a list until the last one that can come
 * (one per recorded node reading it) or until its cotangent is read (its node's rule runs, or the
 * pass ends), and are then summed left to right in one addN: the bits of adding each as it arrives
 * (which the kernel policy's cotangentSum "chain" does), in one dispatch instead of k − 1.
 */
function backward(tape: Tape, y: Tensor, parameters: ReadonlySet<Tensor>): Map<Tensor, Tensor> {
  const contributions = new Map<Tensor, Contribution[]>();
  // How many references (list entries, rule results in use) each cotangent has: a rule may pass g
  // through unchanged to one or several inputs.
  const references = new Map<Tensor, number>();
  const hold = (c: Tensor) => references.set(c, (references.get(c) ?? 0) + 1);
  const letGo = (c: Tensor) => {
    const left = references.get(c)! - 1;
    if (left > 0) references.set(c, left);
    else {
      references.delete(c);
      c.dispose();
    }
  };
  const chain = engine.backend.kernels.variants.cotangentSum === "chain";
  const letGoOf = (c: Contribution) => (c instanceof Pending ? c.release() : letGo(c));
  const contribute = (input: Tensor, gi: Contribution) => {
    const list = contributions.get(input);
    if (gi instanceof Pending && (chain || tape.readersOf(input) === 1)) {
      // Nothing to sum it with in one pass: compute it now.
      const pending = gi;
      gi = tidy(() => computeTerm(pending.term));
      pending.release();
      hold(gi);
      contribute(input, gi);
      letGo(gi);
      return;
    }
    if (list && chain) {
      const previous = list[0] as Tensor;
      list[0] = add(previous, gi as Tensor);
      hold(list[0]);
      letGo(previous);
      return;
    }
    if (list) list.push(gi);
    else contributions.set(input, [gi]);
    if (gi instanceof Tensor) hold(gi);
    // The last contribution that can come: sum now, so k of them are not held to the end of the pass.
    if (list && list.length === tape.readersOf(input)) contributions.set(input, [cotangentOf(input)!]);
  };
  // The cotangent of `t` (held once), its contributions summed and let go; undefined when it has none.
  const cotangentOf = (t: Tensor): Tensor | undefined => {
    const list = contributions.get(t);
    if (!list) return undefined;
    contributions.delete(t);
    if (list.length === 1 && list[0] instanceof Tensor) return list[0];
    const sum = tidy(() => addN(computed(list)));
    hold(sum);
    for (const c of list) letGoOf(c);
    return sum;
  };
  // A parameter's cotangents that are terms (COTANGENT_TERMS) wait uncomputed while more can come,
  // to be summed in one pass with the others of their kind (computed()).
  const pendingTerms = (g: Tensor, node: Node, wants: boolean[]): (Pending | null)[] => {
    const termOf = COTANGENT_TERMS[node.primitive] as ((g: Tensor, n: Node, j: number) => CotangentTerm | null) | undefined;
    if (!termOf) return [];
    return node.inputs.map((x, j) => {
      if (!wants[j] || !parameters.has(x) || tape.readersOf(x) < 2) return null;
      const term = termOf(g, node, j);
      return term && new Pending(term);
    });
  };
  const seed = ones(y.shape);
  contributions.set(y, [seed]);
  hold(seed);
  whileRunningGradientRules(() => {
    tape.consumeBackwards((node) => {
      const rule = RULES[node.primitive] as ((g: Tensor, n: typeof node, wants: boolean[]) => (Tensor | null)[]) | null;
      if (!rule || !contributions.has(node.output)) return;
      const g = cotangentOf(node.output)!;
      const wants = node.inputs.map((input) => tape.dependsOnInputs(input));
      const pending = pendingTerms(g, node, wants);
      const grads = tidy(() => rule(g, node, wants.map((w, j) => w && !pending[j])));
      for (const gi of grads) if (gi) hold(gi);
      node.inputs.forEach((input, j) => {
        const gi = pending[j] ?? grads[j];
        if (gi && wants[j]) contribute(input, gi);
      });
      for (const gi of grads) if (gi) letGo(gi);
      letGo(g);
    });
    for (const t of [...contributions.keys()]) contributions.set(t, [cotangentOf(t)!]);
  });
  return new Map([...contributions].map(([t, [c]]) => [t, c as Tensor]));
}

interface Traced<A, X> {
  value: Tensor;
  aux: X;
  grads: A;
}

function trace<A, R extends unknown[], X>(
  fn: (x: A, ...rest: R) => Tensor | readonly [Tensor, X],
  hasAux: boolean,
  x: A,
  rest: R,
): Traced<A, X> {
  return tidy(() => {
    const leaves = treeLeaves(x);
    const tape = new Tape();
    for (const leaf of leaves) {
      leaf.assertAlive("grad");
      tape.watch(leaf);
    }
    engine.recorders.push(tape);
    try {
      let result: Tensor | readonly [Tensor, X];
      try {
        // Intermediates that no rule reads are freed before the backward pass: the tape holds the rest.
        result = tidy(() => fn(x, ...rest));
      } finally {
        engine.recorders.splice(engine.recorders.indexOf(tape), 1);
      }
      const [value, aux] = hasAux ? result as readonly [Tensor, X] : [result as Tensor, undefined as X];
      if (!(value instanceof Tensor) || value.size !== 1 || value.dtype !== "float32") {
        throw new Error(
          `grad: the function must return a float32 scalar${hasAux ? " as the first element of [loss, aux]" : ""}, got ${value}`,
        );
      }
      const cotangents = backward(tape, value, new Set(leaves));
      const grads = leaves.map((leaf) => cotangents.get(leaf) ?? zeros(leaf.shape));
      return { value, aux, grads: rebuild(x, grads) };
    } finally {
      tape.close();
    }
  }) as Traced<A, X>;
}

/** ∂f/∂x for a scalar-valued f; x may be a tensor or an array/object tree of tensors. */
export function grad<A extends TensorTree, R extends unknown[]>(
  fn: (x: A, ...rest: R) => Tensor,
): (x: A, ...rest: R) => A {
  return (x, ...rest) => {
    const { value, grads } = trace(fn, false, x, rest);
    if (!treeLeaves(x).includes(value)) value.dispose();
    return grads;
  };
}

/** [f(x), ∂f/∂x]. */
export function valueAndGrad<A extends TensorTree, R extends unknown[]>(
  fn: (x: A, ...rest: R) => Tensor,
): (x: A, ...rest: R) => [Tensor, A] {
  return (x, ...rest) => {
    const { value, grads } = trace(fn, false, x, rest);
    return [value, grads];
  };
}

/** For f returning [loss, aux]: [loss, aux, ∂loss/∂x]; aux may hold tensors (logits, parts). */
export function valueAndGradWithAux<A extends TensorTree, R extends unknown[], X>(
  fn: (x: A, ...rest: R) => readonly [Tensor, X],
): (x: A, ...rest: R) => [Tensor, X, A] {
  return (x, ...rest) => {
    const { value, aux, grads } = trace(fn, true, x, rest);
    return [value, aux, grads];
  };
}
