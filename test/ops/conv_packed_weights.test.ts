/**
 * The texture convolutions pack each weight layout, and each input with its padding, once and keep
 * them beside the tensor's storage (src/ops/kernels/conv_textures.ts): later convolutions reuse
 * them, the results are those of a fresh packing, and the packed textures are live memory freed
 * with the tensor.
 */
import { conv2d, conv2dInputGrad, conv2dWeightGrad, init, memory, profile, type Tensor, tensor, tidy } from "../../src/mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { seededValues } from "../support/random.ts";

const backend = await init();

/** A stride-2 3×3 convolution: its input gradient packs four tap selections of the flipped kernel (one per stride phase). */
const ATTRS = { stride: [2, 2] as [number, number], dilation: [1, 1] as [number, number], padding: [[1, 1], [1, 1]] as [[number, number], [number, number]], groups: 1 };
const X_SHAPE = [2, 5, 9, 8];
const W_SHAPE = [6, 5, 3, 3];
const GY_SHAPE = [2, 6, 5, 4];
const PHASES = 4;
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

async function withTextureKernels(fn: () => Promise<void>): Promise<void> {
  const previous = backend.kernels.variants.conv;
  backend.setKernelVariant("conv", "textures");
  try {
    await fn();
  } finally {
    backend.setKernelVariant("conv", previous);
  }
}

const dispatchesOf = (report: { kernels: { name: string; dispatches: number }[] }, kernel: string) =>
  report.kernels.find((k) => k.name === `conv2d_texture.${kernel}`)?.dispatches ?? 0;

/** The forward convolution and the input gradient of `w`, as host arrays, with the pack_weights dispatches they took. */
async function convolveBothWays(w: Tensor, seed: number): Promise<{ y: Float32Array; dx: Float32Array; packs: number }> {
  const { result: [y, dx], report } = await profile(() =>
    tidy(() => [
      conv2d(tensor(seededValues(size(X_SHAPE), seed), X_SHAPE), w, ATTRS),
      conv2dInputGrad(tensor(seededValues(size(GY_SHAPE), seed + 1), GY_SHAPE), w, ATTRS, [X_SHAPE[2], X_SHAPE[3]]),
    ])
  );
  const packs = dispatchesOf(report, "pack_weights");
  const result = { y: await y.floats(), dx: await dx.floats(), packs };
  y.dispose();
  dx.dispose();
  return result;
}

test("a weight is packed once per layout: later convolutions reuse it and match a freshly packed copy", () =>
  withTextureKernels(async () => {
    const values = seededValues(size(W_SHAPE), 1);
    const w = tensor(values, W_SHAPE);
    const first = await convolveBothWays(w, 2);
    assertEquals(first.packs, 1 + PHASES, "as is once, then one flipped selection per stride phase");
    const again = await convolveBothWays(w, 4);
    assertEquals(again.packs, 0, "the second use packs nothing");
    w.dispose(); // its textures wait for the next weight of its shape
    const fresh = tensor(values, W_SHAPE);
    const unpacked = await convolveBothWays(fresh, 4);
    assertEquals(unpacked.packs, 1 + PHASES, "another tensor with the same values packs its own");
    assertEquals([...again.y], [...unpacked.y], "forward with the kept packing");
    assertEquals([...again.dx], [...unpacked.dx], "input gradient with the kept packing");
    fresh.dispose();
  }));

test("an input is packed once with its padding for the forward pass and the weight gradient, with the same results", () =>
  withTextureKernels(async () => {
    const xs = seededValues(size(X_SHAPE), 7);
    const gy = tensor(seededValues(size(GY_SHAPE), 8), GY_SHAPE);
    const w = tensor(seededValues(size(W_SHAPE), 9), W_SHAPE);
    const both = (x: Tensor) => [conv2d(x, w, ATTRS), conv2dWeightGrad(x, gy, ATTRS, [W_SHAPE[2], W_SHAPE[3]])];
    const x = tensor(xs, X_SHAPE);
    const { result: [y, dw], report } = await profile(() => both(x));
    assertEquals(dispatchesOf(report, "pack_input"), 2, "x once, gy once");
    // Copies of x pack afresh.
    const [freshDw, freshY] = tidy(() => [both(tensor(xs, X_SHAPE))[1], both(tensor(xs, X_SHAPE))[0]]);
    assertEquals([...await dw.floats()], [...await freshDw.floats()], "weight gradient with the kept packing");
    assertEquals([...await y.floats()], [...await freshY.floats()], "forward with the kept packing");
    for (const t of [y, dw, freshDw, freshY, x, gy, w]) t.dispose();
  }));

/** Geometries whose input gradient and weight gradient share one packing of gy. */
const GRADIENT_CASES = [
  { name: "stride 1, dilated", attrs: { ...ATTRS, stride: [1, 1], dilation: [2, 1], padding: [[2, 1], [0, 1]] }, gyShape: [2, 6, 8, 7] },
  { name: "stride 2, four phases", attrs: ATTRS, gyShape: GY_SHAPE },
  { name: "stride 1, padding wider than the kernel", attrs: { ...ATTRS, stride: [1, 1], padding: [[3, 0], [0, 4]] }, gyShape: [2, 6, 10, 10] },
  { name: "7×7 stride 2 (phases reach before gy)", attrs: { ...ATTRS, padding: [[3, 3], [3, 3]] }, gyShape: [2, 6, 5, 4], w: [6, 5, 7, 7] },
] as { name: string; attrs: typeof ATTRS; gyShape: number[]; w?: number[] }[];

for (const { name, attrs, gyShape, w: wShape = W_SHAPE } of GRADIENT_CASES) {
  test(`a convolution's input gradient (every stride phase) and weight gradient read one packing of gy (${name}), with the same results`, () =>
    withTextureKernels(async () => {
      const gys = seededValues(size(gyShape), 10);
      const x = tensor(seededValues(size(X_SHAPE), 11), X_SHAPE);
      const w = tensor(seededValues(size(wShape), 12), wShape);
      const both = (gy: Tensor) => [conv2dInputGrad(gy, w, attrs, [X_SHAPE[2], X_SHAPE[3]]), conv2dWeightGrad(x, gy, attrs, [wShape[2], wShape[3]])];
      const gy = tensor(gys, gyShape);
      const { result: [dx, dw], report } = await profile(() => both(gy));
      assertEquals(dispatchesOf(report, "pack_input"), 2, "gy once, x once");
      backend.setKernelVariant("conv", "buffers");
      const [bufferDx, bufferDw] = tidy(() => both(tensor(gys, gyShape)));
      backend.setKernelVariant("conv", "textures");
      const close = (a: Float32Array, b: Float32Array) => a.every((v, i) => Math.abs(v - b[i]) <= 1e-5 * (1 + Math.abs(b[i])));
      assert(close(await dx.floats(), await bufferDx.floats()), "input gradient as the buffer kernels give it");
      assert(close(await dw.floats(), await bufferDw.floats()), "weight gradient as the buffer kernels give it");
      for (const t of [dx, dw, bufferDx, bufferDw, gy, x, w]) t.dispose();
    }));
}

test("packed weights and inputs are live memory until their tensor is freed, even if freed before the convolution is submitted", () =>
  withTextureKernels(async () => {
    await backend.sync();
    const before = memory();
    const w = tensor(seededValues(size(W_SHAPE), 5), W_SHAPE);
    const x = tensor(seededValues(size(X_SHAPE), 6), X_SHAPE);
    const y = conv2d(x, w, ATTRS);
    const held = memory();
    assertEquals(held.liveTextures - before.liveTextures, 2, "w's layout and x's padded packing");
    // w: output channels × (9 taps · 2 quads of input channels) texels of 16 bytes; x: 2 quads × 10 × (N·11) texels.
    const packed = (6 * 9 * 2 + 2 * 10 * 2 * 11) * 16;
    assert(held.liveBytes - before.liveBytes >= packed, `live bytes grew by ${held.liveBytes - before.liveBytes}`);
    w.dispose(); // the dispatch that binds the packed textures is recorded, not yet submitted
    x.dispose();
    const values = await y.floats();
    assert(values.every(Number.isFinite), "the convolution ran after its operands were freed");
    y.dispose();
    await backend.sync();
    const after = memory();
    assertEquals([after.liveBytes, after.liveTextures], [before.liveBytes, before.liveTextures], "live bytes and textures back to baseline");
  }));
