/** Launchers that write constants and ranges. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import type { DType, Shape, Tensor } from "../../tensor.ts";
import { launchFlat } from "./launch.ts";

export function fillKernel(op: string, shape: Shape, value: number, dtype: DType = "float32"): Tensor {
  const out = engine.allocate(op, shape, dtype);
  const bits = dtype === "int32"
    ? new Uint32Array(Int32Array.of(value).buffer)[0]
    : new Uint32Array(Float32Array.of(value).buffer)[0];
  launchFlat("fill", "fill", new Params().u32(out.size).u32(bits).build(), [out], out.size);
  return out;
}

export function iotaKernel(n: number, dtype: DType): Tensor {
  const out = engine.allocate("arange", [n], dtype);
  const entry = dtype === "int32" ? "iota_i32" : "iota_f32";
  launchFlat("fill", entry, new Params().u32(n).u32(0).build(), [out], n);
  return out;
}
