/** Launchers for reductions over any set of axes, done as one pass per run of adjacent axes. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { grid1d } from "../../backend/backend.ts";
import { shapeSize, type Tensor } from "../../tensor.ts";
import { reducedShape } from "../shape.ts";
import { launchFlat } from "./launch.ts";
import { permuteKernel } from "./movement.ts";

/** sumSquares is Σ x² (each square rounded to float32, as mul(x, x)). */
export type ReduceOp = "sum" | "max" | "min" | "argmax" | "sumSquares";
const OP_CODES: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2, argmax: 3, sumSquares: 4 };
/**
 * Rows up to this long are reduced one thread each, however many rows there are: the row kernel's
 * barrier-bound 256-thread workgroups cost ~50× more on CPU adapters (BatchNorm's [N·C, H·W]
 * statistics, a ViT's 192-value LayerNorm rows on lavapipe), and one sequential pass is cheap.
 */
const MAX_THREAD_ROW = 4096;
/** Fewer longer rows than this are split across many threads (reduce_partials): a workgroup per row would leave cores idle. */
const MIN_WORKGROUP_ROWS = 64;
/** Elements each thread of reduce_partials aims to reduce before the partials are summed. */
const PARTIAL_LENGTH = 128;
/**
 * Columns longer than this are moved to rows first, so that no thread loops longer: under lavapipe's
 * loop limit (65 535 iterations per invocation) a longer loop would stop early.
 */
const MAX_THREAD_LOOP = 32768;

/** Reduces the contiguous run of axes [start, end) of a tensor of `shape`. */
function reduceRun(op: ReduceOp, x: Tensor, start: number, end: number, outShape: number[]): Tensor {
  const outer = shapeSize(x.shape.slice(0, start));
  const len = shapeSize(x.shape.slice(start, end));
  const inner = shapeSize(x.shape.slice(end));
  if (inner === 1 && len > MAX_THREAD_ROW && outer < MIN_WORKGROUP_ROWS && op !== "argmax") {
    return reduceSplit(op, x, outer, len, outShape);
  }
  if (engine.backend.kernels.loopLimit !== null && len > MAX_THREAD_LOOP * 256) {
    throw new Error(`${op}: reducing ${len} elements per output exceeds the kernel's limit of ${MAX_THREAD_LOOP * 256}`);
  }
  if (inner > 1 && len > MAX_THREAD_LOOP) {
    // Too long for one thread per column: bring the reduced axes last and reduce rows.
    const rank = x.rank;
    const perm = [...Array(rank).keys()].filter((d) => d < start || d >= end).concat([...Array(end - start).keys()].map((i) => start + i));
    const moved = permuteKernel(x, perm);
    const out = reduceRun(op, moved, rank - (end - start), rank, outShape);
    moved.dispose();
    return out;
  }
  const out = engine.allocate(op, outShape, op === "argmax" ? "int32" : "float32");
  const params = new Params().u32(outer).u32(len).u32(inner).build();
  const constants = { OP: OP_CODES[op] };
  if (inner === 1 && len > MAX_THREAD_ROW) {
    engine.backend.dispatch({
      shader: "reduce",
      entry: "reduce_rows",
      constants,
      params,
      buffers: [x.buffer, out.buffer],
      workgroups: grid1d(outer, 1, engine.backend.limits.maxComputeWorkgroupsPerDimension),
    });
  } else {
    launchFlat("reduce", "reduce_cols", params, [x, out], outer * inner, constants);
  }
  return out;
}

/**
 * Reduces few long rows in two passes: `threads` partials per row, each over every threads-th
 * element (Kahan-compensated for sums), then each row's partials by one thread.
 */
function reduceSplit(op: ReduceOp, x: Tensor, outer: number, len: number, outShape: number[]): Tensor {
  if (engine.backend.kernels.loopLimit !== null && len > MAX_THREAD_LOOP * MAX_THREAD_ROW) {
    throw new Error(`${op}: reducing ${len} elements per output exceeds the kernel's limit of ${MAX_THREAD_LOOP * MAX_THREAD_ROW}`);
  }
  const threads = Math.min(MAX_THREAD_ROW, Math.max(256, Math.ceil(len / PARTIAL_LENGTH / 256) * 256));
  const partials = engine.allocate(op, [outer, threads]);
  const params = new Params().u32(outer).u32(len).u32(threads).build();
  launchFlat("reduce", "reduce_partials", params, [x, partials], outer * threads, { OP: OP_CODES[op] });
  // The partials of a sum of squares are already squares.
  const out = reduceRun(op === "sumSquares" ? "sum" : op, partials, 1, 2, outShape);
  partials.dispose();
  return out;
}

/** `axes` sorted and unique. */
export function reduceKernel(op: ReduceOp, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
  if (x.dtype !== "float32") throw new Error(`${op}: expects a float32 tensor, got ${x.dtype} [${x.shape}]`);
  if (op === "argmax" && axes.length !== 1) throw new Error("argmax: reduces exactly one axis");
  const finalShape = reducedShape(x.shape, axes, keepDims);
  const runs: [number, number][] = [];
  for (const axis of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === axis) last[1] = axis + 1;
    else runs.push([axis, axis + 1]);
  }
  if (runs.length === 0) return reduceRun(op, x, 0, 0, finalShape);
  let current = x;
  // Last run first, so the earlier runs' axis numbers stay valid.
  for (let r = runs.length - 1; r >= 0; r--) {
    const [start, end] = runs[r];
    const shape = r === 0 ? finalShape : [...current.shape.slice(0, start), ...current.shape.slice(end)];
    // A sum of squares squares once: its later runs sum.
    const next = reduceRun(current === x ? op : op === "sumSquares" ? "sum" : op, current, start, end, shape);
    if (current !== x) current.dispose();
    current = next;
  }
  return current;
}
