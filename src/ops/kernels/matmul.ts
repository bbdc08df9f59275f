/** Launcher for batched matmul with optional transposes and a broadcast batch. */
import { engine } from "../../engine.ts";
import { Params } from "../../backend/params.ts";
import { KERNEL_FALLBACKS } from "../../backend/kernel_policy.ts";
import { shapeSize, type Tensor } from "../../tensor.ts";
import type { Storage } from "../../storage.ts";
import { shapeString } from "../shape.ts";
import { sliceKernel } from "./movement.ts";
import { binaryKernel } from "./elementwise.ts";
import { keptPacking } from "./launch.ts";

/** The shape of one product: out[batch] = op(A)[M, K] · op(B)[K, N]; a count of 1 broadcasts. */
export interface Product {
  M: number;
  N: number;
  K: number;
  batch: number;
  countA: number;
  countB: number;
  transA: boolean;
  transB: boolean;
}

export function matmulKernel(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const fail = (why: string) => {
    throw new Error(`matmul: ${why} (a ${shapeString(a.shape)}${transA ? "ᵀ" : ""}, b ${shapeString(b.shape)}${transB ? "ᵀ" : ""})`);
  };
  if (a.dtype !== "float32" || b.dtype !== "float32") fail("operands must be float32");
  if (a.rank < 2 || b.rank < 2) fail("operands need rank ≥ 2");
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [K2, N] = transB ? [bc, br] : [br, bc];
  if (K !== K2) fail(`inner dimensions ${K} and ${K2} differ`);
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const countA = shapeSize(batchA);
  const countB = shapeSize(batchB);
  const sameBatch = batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i]);
  if (!sameBatch && countA !== 1 && countB !== 1) fail("batch dimensions must match or one side have a single matrix");
  const batchShape = countA >= countB && (sameBatch || countB === 1) ? batchA : batchB;
  const batch = shapeSize(batchShape);
  const { variants, loopLimit } = engine.backend.kernels;
  if (loopLimit !== null && K > K_PER_PASS_UNDER_LOOP_LIMIT) return matmulInKChunks(a, b, transA, transB, K);
  const out = engine.allocate("matmul", [...batchShape, M, N]);
  if (out.size === 0) return out;
  const maxGroups = engine.backend.limits.maxComputeWorkgroupsPerDimension;
  if (batch > maxGroups) fail(`batch ${batch} exceeds ${maxGroups} workgroups`);
  const product: Product = { M, N, K, batch, countA, countB, transA, transB };
  if (variants.matmul === "textures" && texturesFit(product)) matmulTextures(product, a, b, out);
  else matmulBuffers(product, a, b, out, variants.matmul === "textures" ? KERNEL_FALLBACKS.matmul : variants.matmul);
  return out;
}

/**
 * Where the adapter ends a shader invocation's loops (lavapipe: after 65 535 iterations in all),
 * longer products are summed from partial products over K chunks: every variant loops over K (the
 * shared one ~1.3 iterations per k), so a chunk stays well below the limit.
 */
export const K_PER_PASS_UNDER_LOOP_LIMIT = 16384;

function matmulInKChunks(a: Tensor, b: Tensor, transA: boolean, transB: boolean, K: number): Tensor {
  const sliceK = (x: Tensor, axis: number, start: number, length: number) =>
    sliceKernel(x, x.shape.map((_, d) => (d === axis ? start : 0)), x.shape.map((n, d) => (d === axis ? length : n)));
  function* partials(): Generator<Tensor> {
    for (let start = 0; start < K; start += K_PER_PASS_UNDER_LOOP_LIMIT) {
      const length = Math.min(K_PER_PASS_UNDER_LOOP_LIMIT, K - start);
      const partA = sliceK(a, transA ? a.rank - 2 : a.rank - 1, start, length);
      const partB = sliceK(b, transB ? b.rank - 1 : b.rank - 2, start, length);
      const partial = matmulKernel(partA, partB, transA, transB);
      partA.dispose();
      partB.dispose();
      yield partial;
    }
  }
  return sumInOrder(partials());
}

/** ((p₀ + p₁) + p₂) + … of tensors made one at a time, each freed once it is added. */
export function sumInOrder(parts: Iterable<Tensor>): Tensor {
  let total: Tensor | null = null;
  for (const part of parts) {
    if (!total) {
      total = part;
      continue;
    }
    const sum = binaryKernel("add", total, part);
    total.dispose();
    part.dispose();
    total = sum;
  }
  if (!total) throw new Error("sumInOrder: nothing to sum");
  return total;
}

/** The register-tiled or workgroup-memory kernel, reading both operands from storage buffers. */
function matmulBuffers(p: Product, a: Tensor, b: Tensor, out: Tensor, variant: "registers" | "shared"): void {
  engine.backend.dispatch({
    shader: "matmul",
    entry: `matmul_${variant}`,
    constants: { TRANS_A: p.transA ? 1 : 0, TRANS_B: p.transB ? 1 : 0 },
    params: new Params().u32(p.M).u32(p.N).u32(p.K)
      .u32(p.countA === 1 ? 0 : p.M * p.K).u32(p.countB === 1 ? 0 : p.K * p.N).build(),
    buffers: [a.buffer, b.buffer, out.buffer],
    workgroups: [Math.ceil(p.N / 64), Math.ceil(p.M / 64), p.batch],
  });
}

const roundUp = (x: number, multiple: number) => Math.ceil(x / multiple) * multiple;

/** Texture sizes [width, height, layers] of the packed operands (see shaders/matmul_texture.wgsl). */
export function textureSizes(p: Product): { a: [number, number, number]; b: [number, number, number] } {
  const k4 = Math.ceil(p.K / 4);
  return {
    a: [k4, roundUp(p.M, 16), p.countA],
    b: [roundUp(Math.ceil(p.N / 4), 16), k4 * 4, p.countB],
  };
}

/** Whether both packed operands fit the device's texture limits (else the buffer kernel runs). */
export function texturesFit(p: Product): boolean {
  if (p.K === 0) return false;
  const { maxTextureDimension2D: side, maxTextureArrayLayers: layers } = engine.backend.limits;
  const sizes = textureSizes(p);
  return [sizes.a, sizes.b].every(([w, h, l]) => w <= side && h <= side && l <= layers);
}

/**
 * Tensors whose staged textures are kept beside their storage (see keepStagedOperands): their
 * storages, so that views (reshape, a slice of leading elements) count too. A storage is never
 * reused for other contents.
 */
const keptOperands = new WeakSet<Storage>();

/**
 * Keeps the packed textures of `t` (each layout matmul_pack stages it in) beside its storage until
 * it is freed, for a matrix read by many products: in a harmonized step a layer's weight W is read
 * as Wᵀ by the forward pass (x·Wᵀ) and again by the double backward (h·Wᵀ, the gradient in g of the
 * saliency pass's g·W). Only the texture kernels stage operands.
 */
export function keepStagedOperands(t: Tensor): void {
  keptOperands.add(t.storage);
}

/** A region of a texture that matmul_pack fills: op(src) [rows, cols] into `size` [width, height, layers] texels at `origin` [x0, y0]. */
export interface PackRegion {
  src: Tensor;
  size: [number, number, number];
  origin: [number, number];
  rows: number;
  cols: number;
  trans: boolean;
}

/** matmul_pack's parameters: op(X)[r, c] sits at r·row_stride + c·col_stride of each batch matrix. */
const packParams = (p: Params, r: PackRegion) =>
  p.u32(r.rows).u32(r.cols).u32(r.trans ? 1 : r.cols).u32(r.trans ? r.rows : 1).u32(r.rows * r.cols)
    .u32(r.origin[0]).u32(r.origin[1]).u32(r.size[0]).u32(r.size[1]);

/** Records matmul_pack of `region` into `dst`. */
export function packRegion(dst: GPUTextureView, region: PackRegion): void {
  const [width, height, layers] = region.size;
  engine.backend.dispatch({
    shader: "matmul_texture",
    entry: "matmul_pack",
    params: packParams(new Params(), region).build(),
    buffers: [region.src.buffer, dst],
    workgroups: [Math.ceil(width / 8), Math.ceil(height / 8), layers],
  });
}

/** Records matmul_pack_pair for regions of one layer of `dst`, two per dispatch. */
export function packRegions(dst: GPUTextureView, regions: readonly PackRegion[]): void {
  for (let i = 0; i < regions.length; i += 2) {
    const [first, second] = [regions[i], regions[i + 1]];
    if (!second) {
      packRegion(dst, first);
      continue;
    }
    // The second region's parameters start 16-byte aligned, after 3 words of padding.
    const params = packParams(packParams(new Params(), first).u32(0).u32(0).u32(0), second).build();
    engine.backend.dispatch({
      shader: "matmul_texture",
      entry: "matmul_pack_pair",
      params,
      buffers: [first.src.buffer, dst, second.src.buffer],
      workgroups: [Math.ceil(Math.max(first.size[0], second.size[0]) / 8), Math.ceil(Math.max(first.size[1], second.size[1]) / 8), 2],
    });
  }
}

/** Where an operand is staged: a texture kept beside its storage, or this product's scratch texture. */
type Staging = { kept: true; key: string } | { kept: false; role: string };

/** Whether op(X) [rows, cols] is staged by matmul_pack; else its rows are copied in as texel rows. */
export const stagedByPack = (cols: number, trans: boolean) => trans || cols % 64 !== 0;

/**
 * Stages op(A) and op(B) as rgba32float textures, then multiplies texel by texel. An operand whose
 * texel rows are its own rows (not transposed, row bytes a multiple of 256) is copied as is;
 * others go through matmul_pack. Texels past the copied rows and columns may hold stale values:
 * they only reach rows/columns of out that are never written. An operand marked by
 * keepStagedOperands keeps each packed layout beside its storage; copied layouts are not kept (a
 * copy is cheap, and keeping it would add the operand's size again for as long as it lives).
 */
function matmulTextures(p: Product, a: Tensor, b: Tensor, out: Tensor): void {
  const backend = engine.backend;
  const sizes = textureSizes(p);
  // The staged layout is fixed by the operand's shape, its transpose and the texture size.
  const staging = (role: "a" | "b", x: Tensor, cols: number, trans: boolean, size: [number, number, number]): Staging =>
    keptOperands.has(x.storage) && stagedByPack(cols, trans)
      ? { kept: true, key: `matmul.${role} [${x.shape}]${trans ? "ᵀ" : ""}: ${size.join("x")} rgba32float` }
      : { kept: false, role: `matmul.${role}` };
  const where = [staging("a", a, p.K, p.transA, sizes.a), staging("b", b, p.N, p.transB, sizes.b)];
  const scratch = backend.scratchTextures(
    "rgba32float",
    where.flatMap((w, i) => (w.kept ? [] : [{ role: w.role, size: i === 0 ? sizes.a : sizes.b }])),
  );
  const pack = (src: Tensor, dst: GPUTextureView, size: [number, number, number], rows: number, cols: number, trans: boolean) =>
    packRegion(dst, { src, size, origin: [0, 0], rows, cols, trans });
  const stage = (w: Staging, src: Tensor, size: [number, number, number], rows: number, cols: number, trans: boolean): GPUTextureView => {
    if (w.kept) return keptPacking(src, w.key, size, (kept) => pack(src, kept, size, rows, cols, trans));
    const dst = scratch.shift()!;
    if (stagedByPack(cols, trans)) pack(src, dst.view, size, rows, cols, trans);
    else backend.copyToTexture(src.buffer, dst.texture, cols * 4, [cols / 4, rows, size[2]]);
    return dst.view;
  };
  const viewA = stage(where[0], a, sizes.a, p.M, p.K, p.transA);
  const viewB = stage(where[1], b, sizes.b, p.K, p.N, p.transB);
  multiplyTextures(p, viewA, viewB, out);
}

/** Records matmul_texture: out = A·B of operands staged as textureSizes(p) gives. */
export function multiplyTextures(p: Product, viewA: GPUTextureView, viewB: GPUTextureView, out: Tensor): void {
  engine.backend.dispatch({
    shader: "matmul_texture",
    entry: "matmul_texture",
    params: new Params().u32(p.M).u32(p.N).u32(Math.ceil(p.K / 4))
      .u32(p.countA === 1 ? 0 : 1).u32(p.countB === 1 ? 0 : 1).build(),
    buffers: [viewA, viewB, out.buffer],
    workgroups: [Math.ceil(p.N / 64), Math.ceil(p.M / 16), p.batch],
  });
}
