/** Shape arithmetic shared by ops and their launchers; errors name the op and the shapes. */
import { type Shape, stridesOf } from "../tensor.ts";

export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const d = rank - shape.length + i;
      const size = shape[i];
      if (size === out[d] || size === 1) continue;
      if (out[d] !== 1) {
        throw new Error(`${op}: shapes ${shapes.map((s) => `[${s}]`).join(", ")} do not broadcast`);
      }
      out[d] = size;
    }
  }
  return out;
}

/** Strides that read `shape` as if broadcast to `outShape` (0 on stretched or missing axes). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = stridesOf(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, d) => {
    const i = d - offset;
    return i < 0 || shape[i] === 1 ? 0 : strides[i];
  });
}

/** Normalises possibly negative axes against `rank`; sorted, unique. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  const list = axes === undefined ? [...Array(rank).keys()] : typeof axes === "number" ? [axes] : [...axes];
  const out = list.map((a) => normalizeAxis(op, a, rank));
  return [...new Set(out)].sort((x, y) => x - y);
}

export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new Error(`${op}: axis ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

export function reducedShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}
