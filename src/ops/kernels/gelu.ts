/**
 * Launchers of shaders/gelu_pair.wgsl: geluGrad's gradient in one pass. The x-part h·g·gelu″(x) is
 * written together with the g-part h·gelu′(x), which is kept beside h's storage until geluGrad(h, x),
 * the same rule's next call, takes it (as layer norm's double backward keeps ψ″·h).
 */
import { engine, keep } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { sameShape, type Tensor } from "../../tensor.ts";
import { launchFlat, PairedResult } from "./launch.ts";

/** Whether the one-pass kernel takes (h, g, x): float32 tensors of one shape, a size that is a multiple of 4. */
export function geluSecondGradProductFits(h: Tensor, g: Tensor, x: Tensor): boolean {
  return [h, g, x].every((t) => t.dtype === "float32" && sameShape(t.shape, x.shape)) && x.size % 4 === 0;
}

/**
 * h·gelu′(x), written by geluSecondGradProductKernel(h, ·, x), is kept beside h's storage (a
 * PairedResult under this key) until geluGrad(h, x) takes it. Names x by its tensor (ids are never reused).
 */
const pairedKey = (x: Tensor) => `geluGrad of tensor ${x.id} [${x.shape}]`;

/** geluGrad(h, x) if the double-backward kernel already wrote it (a view: the kept tensor stays the storage's to free). */
export function pairedGeluGrad(h: Tensor, x: Tensor): Tensor | null {
  if (!sameShape(h.shape, x.shape)) return null;
  const paired = h.storage.find<PairedResult>(pairedKey(x))?.tensor;
  return paired ? engine.view(paired, x.shape) : null;
}

/** h·g·gelu″(x) of same-shape operands; the same pass writes h·gelu′(x) for the geluGrad(h, x) that follows. */
export function geluSecondGradProductKernel(h: Tensor, g: Tensor, x: Tensor): Tensor {
  if (!geluSecondGradProductFits(h, g, x)) {
    throw new Error(`geluSecondGradProduct: h, g and x must be float32 of one shape with a size that is a multiple of 4, got ${h}, ${g}, ${x}`);
  }
  const out = engine.allocate("geluSecondGradProduct", x.shape);
  const threads = x.size / 4;
  const params = new Params().u32(threads).build();
  const paired = h.storage.derived(pairedKey(x), () => new PairedResult());
  if (paired.tensor || threads === 0) {
    launchFlat("gelu_pair", "gelu_second_grad_product", params, [h, g, x, out], threads);
    return out;
  }
  const slope = engine.allocate("geluGrad", x.shape);
  launchFlat("gelu_pair", "gelu_second_grad_product_pair", params, [h, g, x, out, slope], threads);
  paired.tensor = keep(slope);
  return out;
}
