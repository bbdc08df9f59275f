/**
 * Launcher for Σᵢ op(Aᵢ)·op(Bᵢ) of matrices. With the texture kernels the operands are staged side
 * by side along K in one pair of textures and multiplied once: a K-concatenated product, one
 * dispatch and one write of the result instead of a product and an add per term (a weight read by
 * two products — x·Wᵀ forward and g·W in a saliency pass — gets its gradient this way).
 */
import { engine } from "../../engine.ts";
import type { Tensor } from "../../tensor.ts";
import { shapeString } from "../shape.ts";
import { K_PER_PASS_UNDER_LOOP_LIMIT, matmulKernel, multiplyTextures, type PackRegion, packRegions, type Product, stagedByPack, sumInOrder, textureSizes, texturesFit } from "./matmul.ts";

/** One term op(a)·op(b) of a sum of matrix products. */
export interface MatrixProduct {
  a: Tensor;
  b: Tensor;
  transA: boolean;
  transB: boolean;
}

/** [M, K, N] of op(a) [M, K] · op(b) [K, N]. */
function dimensions({ a, b, transA, transB }: MatrixProduct): [number, number, number] {
  const [M, K] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [K2, N] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  const term = `a ${shapeString(a.shape)}${transA ? "ᵀ" : ""}, b ${shapeString(b.shape)}${transB ? "ᵀ" : ""}`;
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`matmulSum: operands must be matrices (${term})`);
  if (a.dtype !== "float32" || b.dtype !== "float32") throw new Error(`matmulSum: operands must be float32 (${term})`);
  if (K !== K2) throw new Error(`matmulSum: inner dimensions ${K} and ${K2} differ (${term})`);
  return [M, K, N];
}

/** [M, N] of the sum; throws unless every term is a product of matrices with that shape. */
export function matmulSumShape(terms: readonly MatrixProduct[]): [number, number] {
  if (terms.length === 0) throw new Error("matmulSum: needs at least one product");
  const [M, , N] = dimensions(terms[0]);
  for (const term of terms) {
    const [m, , n] = dimensions(term);
    if (m !== M || n !== N) throw new Error(`matmulSum: products are [${M}, ${N}] and [${m}, ${n}]`);
  }
  return [M, N];
}

/** The product of the K-concatenated operands, or null where one texture product cannot sum the terms. */
function concatenatedProduct(terms: readonly MatrixProduct[]): Product | null {
  const { variants, loopLimit } = engine.backend.kernels;
  if (variants.matmul !== "textures" || terms.length < 2) return null;
  const [M, N] = matmulSumShape(terms);
  const ks = terms.map((t) => dimensions(t)[1]);
  const K = ks.reduce((s, k) => s + k, 0);
  // Each term's K must fill whole texels: a padded texel in the middle of K would need zero rows of B.
  if (ks.some((k) => k % 4 !== 0) || (loopLimit !== null && K > K_PER_PASS_UNDER_LOOP_LIMIT)) return null;
  const product: Product = { M, N, K, batch: 1, countA: 1, countB: 1, transA: false, transB: false };
  return texturesFit(product) ? product : null;
}

/** Whether matmulSumKernel runs the terms as one product (else a product and an add per term). */
export function matmulSumFuses(terms: readonly MatrixProduct[]): boolean {
  return concatenatedProduct(terms) !== null;
}

export function matmulSumKernel(terms: readonly MatrixProduct[]): Tensor {
  const [M, N] = matmulSumShape(terms);
  const product = concatenatedProduct(terms);
  if (!product || M === 0 || N === 0) {
    // The bits of the products summed one by one.
    return sumInOrder(terms.map(({ a, b, transA, transB }) => matmulKernel(a, b, transA, transB)));
  }
  const backend = engine.backend;
  const out = engine.allocate("matmulSum", [M, N]);
  const sizes = textureSizes(product);
  const [textureA, textureB] = backend.scratchTextures("rgba32float", [
    { role: "matmul.a", size: sizes.a },
    { role: "matmul.b", size: sizes.b },
  ]);
  const packs: { a: PackRegion[]; b: PackRegion[] } = { a: [], b: [] };
  let k = 0;
  for (const term of terms) {
    const [, K] = dimensions(term);
    // op(A) [M, K] fills texel columns k/4 .. (k + K)/4 of A; op(B) [K, N] fills rows k .. k + K of B.
    if (stagedByPack(K, term.transA)) packs.a.push({ src: term.a, size: [K / 4, sizes.a[1], 1], origin: [k / 4, 0], rows: M, cols: K, trans: term.transA });
    else backend.copyToTexture(term.a.buffer, textureA.texture, K * 4, [K / 4, M, 1], [k / 4, 0]);
    if (stagedByPack(N, term.transB)) packs.b.push({ src: term.b, size: [sizes.b[0], K, 1], origin: [0, k], rows: K, cols: N, trans: term.transB });
    else backend.copyToTexture(term.b.buffer, textureB.texture, N * 4, [N / 4, K, 1], [0, k]);
    k += K;
  }
  packRegions(textureA.view, packs.a);
  packRegions(textureB.view, packs.b);
  multiplyTextures(product, textureA.view, textureB.view, out);
  return out;
}
