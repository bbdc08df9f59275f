/**
 * Reverse-mode autodiff. `grad(f)(x)` runs f on a fresh tape that watches the tensors of x, then
 * walks the tape backwards applying RULES. Tapes opened outside keep recording meanwhile, so the
 * backward pass of an inner grad is differentiable by an outer one: grad(grad(f)) just works.
 */
import { engine, type TensorTree, tidy, treeLeaves } from "../engine.ts";
import { Tensor, whileRunningGradientRules } from "../tensor.ts";
import type { Node } from "../primitive.ts";
import { Tape } from "./tape.ts";
import { productCotangents, RULES } from "./rules.ts";
import { add } from "../ops/elementwise.ts";
import { ones, zeros } from "../ops/creation.ts";
import { addN } from "../ops/add_n.ts";
import { matmul, type MatrixProduct, matmulSum, matmulSumFuses } from "../ops/matmul.ts";

/** A product cotangent not computed yet; it holds its operands until it is. */
class PendingProduct {
  constructor(readonly term: MatrixProduct) {
    term.a.retain();
    term.b.retain();
  }

  release(): void {
    this.term.a.release();
    this.term.b.release();
  }
}

type Contribution = Tensor | PendingProduct;

/**
 * The contributions as tensors in their order; pending products become one matmulSum (at the first
 * one's place) where the backend runs them as one product, else a matmul each.
 */
function computed(list: readonly Contribution[]): Tensor[] {
  const terms = list.flatMap((c) => (c instanceof PendingProduct ? [c.term] : []));
  const fused = terms.length > 1 && matmulSumFuses(terms) ? matmulSum(terms) : null;
  const first = list.findIndex((c) => c instanceof PendingProduct);
  return list.flatMap((c, i) => {
    if (c instanceof Tensor) return [c];
    if (!fused) return [matmul(c.term.a, c.term.b, c.term)];
    return i === first ? [fused] : [];
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
  const letGoOf = (c: Contribution) => (c instanceof PendingProduct ? c.release() : letGo(c));
  const contribute = (input: Tensor, gi: Contribution) => {
    const list = contributions.get(input);
    if (gi instanceof PendingProduct && (chain || tape.readersOf(input) === 1)) {
      // Nothing to sum it with in one product: compute it now.
      const product = gi;
      gi = tidy(() => computed([product])[0]);
      product.release();
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
  // A parameter's cotangents from matrix products wait as products, to be summed in one (computed()).
  const pendingProducts = (g: Tensor, node: Node, wants: boolean[]): (PendingProduct | null)[] => {
    if (node.primitive !== "matmul") return [];
    const [a, b] = node.inputs;
    const { transA, transB } = (node as Node<"matmul">).attrs;
    const defer = (x: Tensor, j: number) => wants[j] && parameters.has(x) && a.rank === 2 && b.rank === 2 && tape.readersOf(x) > 1;
    const deferA = defer(a, 0), deferB = defer(b, 1);
    if (!deferA && !deferB) return [];
    return productCotangents(g, a, b, transA, transB, deferA, deferB).map((term) => term && new PendingProduct(term));
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
      const pending = pendingProducts(g, node, wants);
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
