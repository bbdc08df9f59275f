/**
 * Fewer axes for the strided kernels (broadcasting binary/where, strided copy): size-1 axes are
 * dropped and neighbouring axes that every operand walks contiguously, or all skip (stride 0),
 * are merged. A scalar broadcast becomes rank 1 and a per-channel [1, C, 1, 1] against
 * [N, C, H, W] rank 3. The kernels spend one integer div and mod per axis and element, which CPU
 * adapters (lavapipe) do one lane at a time: there they cost more than the arithmetic itself.
 */
export interface CollapsedDims {
  shape: number[];
  /** One stride list per operand, for the collapsed shape. */
  strides: number[][];
}

/** `strides[k][d]` is operand k's element stride along axis d of the row-major `shape`. */
export function collapseDims(shape: readonly number[], strides: readonly (readonly number[])[]): CollapsedDims {
  const out: CollapsedDims = { shape: [], strides: strides.map(() => []) };
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = out.shape.length - 1;
    // Axes (outer, inner) merge when each operand's outer stride = inner stride × inner extent.
    const mergeable = last >= 0 && strides.every((s, k) => out.strides[k][last] === s[d] * shape[d]);
    if (mergeable) {
      out.shape[last] *= shape[d];
      strides.forEach((s, k) => (out.strides[k][last] = s[d]));
    } else {
      out.shape.push(shape[d]);
      strides.forEach((s, k) => out.strides[k].push(s[d]));
    }
  }
  return out;
}
