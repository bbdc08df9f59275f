/**
 * The texture matmul keeps a linear layer's weight packed beside its storage, one texture per
 * layout (src/ops/kernels/matmul.ts, keepStagedOperands): later products reuse it, the results are
 * those of a fresh packing, and the packed textures are live memory freed with the weight.
 */
import { init, linear, matmul, memory, profile, type Tensor, tensor, tidy } from "../../src/mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { seededValues } from "../support/random.ts";

const backend = await init();

// 70 inputs (not a multiple of 64): W is packed both as Wᵀ (x·Wᵀ) and as is (g·W); x and g too.
const W_SHAPE = [6, 70];
const X_SHAPE = [5, 70];
const G_SHAPE = [5, 6];
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

async function withTextureKernels(fn: () => Promise<void>): Promise<void> {
  const previous = backend.kernels.variants.matmul;
  backend.setKernelVariant("matmul", "textures");
  try {
    await fn();
  } finally {
    backend.setKernelVariant("matmul", previous);
  }
}

/** x·Wᵀ (through linear, which marks W) and g·W, as host arrays, with the matmul_pack dispatches they took. */
async function bothProducts(w: Tensor, seed: number): Promise<{ y: Float32Array; dx: Float32Array; packs: number }> {
  const { result: [y, dx], report } = await profile(() =>
    tidy(() => [
      linear(tensor(seededValues(size(X_SHAPE), seed), X_SHAPE), w),
      matmul(tensor(seededValues(size(G_SHAPE), seed + 1), G_SHAPE), w),
    ])
  );
  const packs = report.kernels.find((k) => k.name === "matmul_texture.matmul_pack")?.dispatches ?? 0;
  const result = { y: await y.floats(), dx: await dx.floats(), packs };
  y.dispose();
  dx.dispose();
  return result;
}

test("a linear layer's weight is packed once per layout: later products reuse it and match a freshly packed copy", () =>
  withTextureKernels(async () => {
    const values = seededValues(size(W_SHAPE), 1);
    const w = tensor(values, W_SHAPE);
    const first = await bothProducts(w, 2);
    assertEquals(first.packs, 4, "x and g in scratch textures, W in both layouts");
    const again = await bothProducts(w, 4);
    assertEquals(again.packs, 2, "only x and g: W's layouts are kept");
    w.dispose(); // its textures wait for the next weight of their sizes
    const fresh = tensor(values, W_SHAPE);
    const unpacked = await bothProducts(fresh, 4);
    assertEquals(unpacked.packs, 4, "another tensor with the same values packs its own");
    assertEquals([...again.y], [...unpacked.y], "x·Wᵀ with the kept packing");
    assertEquals([...again.dx], [...unpacked.dx], "g·W with the kept packing");
    fresh.dispose();
  }));

test("an unmarked operand is packed anew by every product", () =>
  withTextureKernels(async () => {
    const w = tensor(seededValues(size(W_SHAPE), 7), W_SHAPE);
    const x = tensor(seededValues(size(X_SHAPE), 8), X_SHAPE);
    const { result, report } = await profile(() => [matmul(x, w, { transB: true }), matmul(x, w, { transB: true })]);
    assertEquals(report.kernels.find((k) => k.name === "matmul_texture.matmul_pack")?.dispatches, 4, "x and Wᵀ twice each");
    for (const t of [...result, x, w]) t.dispose();
  }));

test("a kept packing is live memory until its weight is freed, even if freed before the product is submitted", () =>
  withTextureKernels(async () => {
    await backend.sync();
    const before = memory();
    const w = tensor(seededValues(size(W_SHAPE), 5), W_SHAPE);
    const x = tensor(seededValues(size(X_SHAPE), 6), X_SHAPE);
    const y = tidy(() => linear(x, w));
    const held = memory();
    assertEquals(held.liveTextures - before.liveTextures, 1, "Wᵀ's layout (x went to a scratch texture)");
    // Wᵀ as B: K = 70 rows (18 texels of 4, padded to 72) × 6 columns (2 texels, padded to 16).
    const packed = 72 * 16 * 16;
    assert(held.liveBytes - before.liveBytes >= packed, `live bytes grew by ${held.liveBytes - before.liveBytes}`);
    w.dispose(); // the dispatch that binds the packed texture is recorded, not yet submitted
    x.dispose();
    const values = await y.floats();
    assert(values.every(Number.isFinite), "the product ran after its operands were freed");
    y.dispose();
    await backend.sync();
    const after = memory();
    assertEquals([after.liveBytes, after.liveTextures], [before.liveBytes, before.liveTextures], "live bytes and textures back to baseline");
  }));
