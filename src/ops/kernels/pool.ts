/** Launcher for the max-pool window argmax (shaders/pool.wgsl). */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import type { Tensor } from "../../tensor.ts";
import type { PoolAttrs } from "../../primitive.ts";
import { shapeString } from "../shape.ts";
import { launchFlat } from "./launch.ts";
import { convOutputSize } from "./conv_geometry.ts";

export function maxPool2dArgmaxKernel(x: Tensor, attrs: PoolAttrs): Tensor {
  const { kernelSize: [kh, kw], stride, dilation, padding } = attrs;
  const fail = (why: string): never => {
    throw new Error(`maxPool2d: ${why} (x ${shapeString(x.shape)}, kernel [${kh}, ${kw}], stride [${stride}], padding ${JSON.stringify(padding)})`);
  };
  if (x.dtype !== "float32") fail(`expects a float32 tensor, got ${x.dtype}`);
  if (x.rank !== 4) fail("input must be NCHW (rank 4)");
  const positive = [kh, kw, ...stride, ...dilation].every((v) => Number.isInteger(v) && v >= 1);
  if (!positive) fail("kernel size, stride and dilation must be positive integers");
  // As in PyTorch: a window made only of padding would have no maximum.
  const halves = [kh, kw];
  if (padding.some(([a, b], d) => !Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a > halves[d] / 2 || b > halves[d] / 2)) {
    fail("padding must be between 0 and half the kernel size");
  }
  const [batch, channels, height, width] = x.shape;
  const outHeight = convOutputSize(height, kh, stride[0], dilation[0], padding[0]);
  const outWidth = convOutputSize(width, kw, stride[1], dilation[1], padding[1]);
  if (outHeight < 1 || outWidth < 1) fail(`the window does not fit the padded input (output ${outHeight}×${outWidth})`);
  const out = engine.allocate("maxPool2d", [batch, channels, outHeight, outWidth], "int32");
  const params = new Params().u32(out.size).u32(height).u32(width).u32(outHeight).u32(outWidth).u32(0).u32(0).u32(0)
    .u32(kh).u32(kw).u32(stride[0]).u32(stride[1]).u32(dilation[0]).u32(dilation[1])
    .u32(padding[0][0]).u32(padding[1][0]).build();
  launchFlat("pool", "max_argmax", params, [x, out], out.size);
  return out;
}
