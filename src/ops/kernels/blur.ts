/** Launchers for the 1-D strided correlation along one axis and its adjoint (shaders/blur.wgsl). */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { shapeSize, type Tensor } from "../../tensor.ts";
import { shapeString } from "../shape.ts";
import { launchFlat } from "./launch.ts";
import type { Correlate1dAttrs } from "../../primitive.ts";


const MAX_TAPS = 16;

function params(x: Tensor, attrs: Correlate1dAttrs): Uint32Array {
  const { axis, taps, stride, padBefore, outSize, inSize } = attrs;
  if (taps.length === 0 || taps.length > MAX_TAPS) throw new Error(`correlate1d: 1 to ${MAX_TAPS} taps, got ${taps.length}`);
  if (!Number.isInteger(stride) || stride < 1 || !Number.isInteger(padBefore) || padBefore < 0) {
    throw new Error(`correlate1d: stride ${stride} and padding ${padBefore} must be integers ≥ 1 and ≥ 0`);
  }
  const p = new Params().u32(shapeSize(x.shape.slice(0, axis))).u32(inSize).u32(outSize)
    .u32(shapeSize(x.shape.slice(axis + 1))).u32(stride).u32(padBefore).u32(taps.length).u32(0);
  for (let t = 0; t < MAX_TAPS; t++) p.f32(taps[t] ?? 0);
  return p.build();
}

function launch(entry: string, op: string, x: Tensor, attrs: Correlate1dAttrs, length: number, expected: number): Tensor {
  if (x.dtype !== "float32") throw new Error(`${op}: expects float32, got ${x.dtype}`);
  if (x.shape[attrs.axis] !== expected) {
    throw new Error(`${op}: axis ${attrs.axis} of ${shapeString(x.shape)} should have length ${expected}`);
  }
  const shape = [...x.shape];
  shape[attrs.axis] = length;
  const out = engine.allocate(op, shape);
  launchFlat("blur", entry, params(x, attrs), [x, out], out.size);
  return out;
}

export function correlate1dKernel(x: Tensor, attrs: Correlate1dAttrs): Tensor {
  return launch("correlate", "correlate1d", x, attrs, attrs.outSize, attrs.inSize);
}

export function correlate1dAdjointKernel(g: Tensor, attrs: Correlate1dAttrs): Tensor {
  return launch("correlate_adjoint", "correlate1dAdjoint", g, attrs, attrs.inSize, attrs.outSize);
}
