/** Launchers for counter-based (Philox) uniform and normal random tensors. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import type { Shape, Tensor } from "../../tensor.ts";
import { launchFlat } from "./launch.ts";

export function randomKernel(kind: "uniform" | "normal", shape: Shape, seed: number, a: number, b: number): Tensor {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`random ${kind}: seed must be a non-negative integer, got ${seed}`);
  const out = engine.allocate(`random ${kind}`, shape);
  const key0 = seed % 2 ** 32;
  const key1 = Math.floor(seed / 2 ** 32);
  const params = new Params().u32(out.size).u32(key0).u32(key1).f32(a).f32(b).build();
  launchFlat("random", kind === "uniform" ? "uniform_f32" : "normal_f32", params, [out], out.size);
  return out;
}
