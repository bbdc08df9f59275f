/** Reshaping and moving data: views, permutations, broadcasting, slicing, padding, concatenation. */
import { engine } from "../engine.ts";
import { type Shape, shapeSize, type Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { normalizeAxis, shapeString } from "./shape.ts";

/** A view with a new shape; one dimension may be −1 (inferred). Shares storage. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.length - known.length;
  if (inferred > 1) throw new Error(`reshape: more than one −1 in ${shapeString(shape)}`);
  let dims = [...shape];
  if (inferred === 1) {
    const rest = shapeSize(known);
    if (rest === 0 || x.size % rest !== 0) throw new Error(`reshape: cannot view ${shapeString(x.shape)} as ${shapeString(shape)}`);
    dims = shape.map((d) => (d === -1 ? x.size / rest : d));
  }
  return apply("reshape", [x], { shape: dims });
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  return apply("permute", [x], { perm: perm.map((p) => normalizeAxis("permute", p, x.rank)) });
}

/** Swaps two axes (the last two by default). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const a = normalizeAxis("transpose", axis0, x.rank);
  const b = normalizeAxis("transpose", axis1, x.rank);
  const perm = [...Array(x.rank).keys()];
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

/** Broadcasts to `shape` (numpy rules). */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return apply("expand", [x], { shape: [...shape] });
}

/** `size[d] = −1` means "to the end". */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const sizes = x.shape.map((d, i) => {
    const s = size?.[i] ?? -1;
    return s === -1 ? d - (begin[i] ?? 0) : s;
  });
  const starts = x.shape.map((_, i) => begin[i] ?? 0);
  return apply("slice", [x], { begin: starts, size: sizes });
}

export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  return apply("pad", [x], { pads: pads.map(([a, b]) => [a, b] as [number, number]), value });
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error("concat: no tensors given");
  return apply("concat", [...xs], { axis: normalizeAxis("concat", axis, xs[0].rank) });
}

export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error("stack: no tensors given");
  const a = normalizeAxis("stack", axis, xs[0].rank + 1);
  return concat(xs.map((x) => expandDims(x, a)), a);
}

export function expandDims(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis("expandDims", axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axes?: readonly number[]): Tensor {
  const list = axes?.map((a) => normalizeAxis("squeeze", a, x.rank)) ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of list) if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${a} of ${shapeString(x.shape)} is not 1`);
  return reshape(x, x.shape.filter((_, i) => !list.includes(i)));
}

export function flatten(x: Tensor, startAxis = 0): Tensor {
  const a = normalizeAxis("flatten", startAxis, x.rank);
  return reshape(x, [...x.shape.slice(0, a), -1]);
}

/** The same values, seen by autodiff as a constant. Shares storage. */
export function stopGradient(x: Tensor): Tensor {
  x.assertAlive("stopGradient");
  return engine.view(x, x.shape);
}
