/**
 * Launchers for conv2d, its input gradient and its weight gradient: the checks, then the kernel
 * policy's variant, conv_textures.ts or conv_buffers.ts.
 */
import { engine } from "../../engine.ts";
import { shapeSize, type Tensor } from "../../tensor.ts";
import type { ConvAttrs } from "../../primitive.ts";
import { fillKernel } from "./fill.ts";
import { checkOutputGrad, fail, geometry, type Geometry, requireFloat } from "./conv_geometry.ts";
import { forwardBuffers, inputGradBuffers, weightGradBuffers } from "./conv_buffers.ts";
import { forwardTextures, inputGradTextures, texturesFit, weightGradTextures } from "./conv_textures.ts";

/** The texture kernels where the policy picks them and they take the case, else the buffer kernels (KERNEL_FALLBACKS.conv). */
function useTextures(geo: Geometry, attrs: ConvAttrs): boolean {
  return engine.backend.kernels.variants.conv === "textures" && texturesFit(geo, attrs);
}

export function conv2dKernel(x: Tensor, w: Tensor, attrs: ConvAttrs): Tensor {
  const shapes = { x: x.shape, w: w.shape };
  requireFloat("conv2d", x, w);
  const geo = geometry("conv2d", x.shape, w.shape, attrs, shapes);
  const out = engine.allocate("conv2d", [geo.batch, geo.outChannels, geo.outHeight, geo.outWidth]);
  if (out.size === 0) return out;
  if (useTextures(geo, attrs)) forwardTextures(x, w, geo, attrs, out);
  else forwardBuffers(x, w, geo, attrs, out);
  return out;
}

export function conv2dInputGradKernel(gy: Tensor, w: Tensor, attrs: ConvAttrs, inputSize: [number, number]): Tensor {
  const shapes = { gy: gy.shape, w: w.shape, inputSize };
  requireFloat("conv2dInputGrad", gy, w);
  if (gy.rank !== 4) fail("conv2dInputGrad", "output gradient must be NCHW (rank 4)", shapes);
  const xShape = [gy.shape[0], w.shape[1] * attrs.groups, ...inputSize];
  const geo = geometry("conv2dInputGrad", xShape, w.shape, attrs, shapes);
  checkOutputGrad("conv2dInputGrad", gy, geo, shapes);
  if (shapeSize(xShape) > 0 && useTextures(geo, attrs)) return inputGradTextures(gy, w, geo, attrs, xShape);
  return inputGradBuffers(gy, w, geo, attrs, xShape);
}

export function conv2dWeightGradKernel(x: Tensor, gy: Tensor, attrs: ConvAttrs, kernelSize: [number, number]): Tensor {
  const shapes = { x: x.shape, gy: gy.shape, kernelSize };
  requireFloat("conv2dWeightGrad", x, gy);
  if (x.rank !== 4 || gy.rank !== 4) fail("conv2dWeightGrad", "input and output gradient must be NCHW (rank 4)", shapes);
  const wShape = [gy.shape[1], x.shape[1] / attrs.groups, ...kernelSize];
  if (!Number.isInteger(wShape[1])) fail("conv2dWeightGrad", `input channels are not divisible by groups ${attrs.groups}`, shapes);
  const geo = geometry("conv2dWeightGrad", x.shape, wShape, attrs, shapes);
  checkOutputGrad("conv2dWeightGrad", gy, geo, shapes);
  const empty = geo.outChannels * wShape[1] * geo.kernelH * geo.kernelW === 0 || geo.batch * geo.outHeight * geo.outWidth === 0;
  if (empty) return fillKernel("conv2dWeightGrad", wShape, 0);
  return useTextures(geo, attrs) ? weightGradTextures(x, gy, geo, attrs, wShape) : weightGradBuffers(x, gy, geo, attrs, wShape);
}
