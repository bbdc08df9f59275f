/** Launchers for gather and scatter-add along an axis. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { stridesOf, type Tensor } from "../../tensor.ts";
import { shapeString } from "../shape.ts";
import { launchFlat } from "./launch.ts";
import { fillKernel } from "./fill.ts";

function checkIndices(op: string, data: readonly number[], indices: Tensor, axis: number): void {
  if (indices.dtype !== "int32") throw new Error(`${op}: indices must be int32, got ${indices.dtype}`);
  const ok = indices.rank === data.length && indices.shape.every((d, i) => i === axis || d === data[i]);
  if (!ok) {
    throw new Error(`${op}: indices ${shapeString(indices.shape)} do not fit data ${shapeString(data)} off axis ${axis}`);
  }
}

function gatherParams(indices: Tensor, axis: number, dataShape: readonly number[]): Uint32Array {
  return new Params().u32(indices.size).u32(indices.rank).u32(axis).u32(dataShape[axis])
    .dims(indices.shape).dims(stridesOf(dataShape)).build();
}

export function gatherKernel(x: Tensor, indices: Tensor, axis: number): Tensor {
  checkIndices("gather", x.shape, indices, axis);
  const out = engine.allocate("gather", indices.shape, x.dtype);
  launchFlat("gather", "gather", gatherParams(indices, axis, x.shape), [indices, x, out], indices.size);
  return out;
}

export function scatterAddKernel(src: Tensor, indices: Tensor, axis: number, size: number): Tensor {
  if (src.dtype !== "float32") throw new Error(`scatterAdd: updates must be float32, got ${src.dtype}`);
  const shape = [...src.shape];
  shape[axis] = size;
  checkIndices("scatterAdd", shape, indices, axis);
  if (indices.shape.some((d, i) => d !== src.shape[i])) {
    throw new Error(`scatterAdd: indices ${shapeString(indices.shape)} and updates ${shapeString(src.shape)} differ`);
  }
  const out = fillKernel("scatterAdd", shape, 0);
  launchFlat("gather", "scatter_add", gatherParams(indices, axis, shape), [indices, src, out], indices.size);
  return out;
}
