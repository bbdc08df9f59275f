/**
 * Resampling a ViT's position embedding to another patch grid, as timm's `resample_abs_pos_embed`
 * does when an input (or a checkpoint) has a different size: the grid of patch embeddings is
 * resized with **bicubic** interpolation exactly as timm calls torch's F.interpolate (mode
 * "bicubic", align_corners False, antialias True) and prefix tokens (the class token) are kept. Bicubic resizing is linear, so it is two matmuls with constant
 * interpolation matrices: differentiable to any order.
 */
import type { Tensor } from "../tensor.ts";
import { tensor } from "../ops/creation.ts";
import { matmul } from "../ops/matmul.ts";
import { concat, permute, reshape, slice } from "../ops/movement.ts";

/** Keys' cubic kernel with a = −0.5 (PIL's), the filter of torch's antialiased bicubic resize. */
function cubicFilter(x: number): number {
  const a = -0.5;
  const d = Math.abs(x);
  if (d < 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

/**
 * The [outSize, inSize] matrix M with resized = M · signal, for torch's F.interpolate(mode="bicubic",
 * align_corners=False, antialias=True) — timm's default in `resample_abs_pos_embed`. Each output
 * sample weighs the inputs within 2 (scaled when shrinking) of its centre, renormalised to sum 1,
 * so borders are truncated rather than clamped.
 */
export function bicubicMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  const support = scale >= 1 ? 2 * scale : 2;
  const stretch = scale >= 1 ? 1 / scale : 1;
  for (let i = 0; i < outSize; i++) {
    const centre = scale * (i + 0.5);
    const first = Math.max(Math.trunc(centre - support + 0.5), 0);
    const end = Math.min(Math.trunc(centre + support + 0.5), inSize);
    const weights: number[] = [];
    for (let j = first; j < end; j++) weights.push(cubicFilter((j - centre + 0.5) * stretch));
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, k) => (m[i * inSize + first + k] = total !== 0 ? w / total : w));
  }
  return m;
}

/**
 * posEmbed [1, prefix + fromH·fromW, D] → [1, prefix + toH·toW, D]: the grid part resized
 * bicubically, the first `prefixTokens` rows copied.
 */
export function resamplePositionEmbedding(
  posEmbed: Tensor,
  from: readonly [number, number],
  to: readonly [number, number],
  prefixTokens: number,
): Tensor {
  const [, tokens, width] = posEmbed.shape;
  if (posEmbed.rank !== 3 || posEmbed.shape[0] !== 1 || tokens !== prefixTokens + from[0] * from[1]) {
    throw new Error(
      `resamplePositionEmbedding: pos_embed [${posEmbed.shape}] is not [1, ${prefixTokens} + ${from[0]}·${from[1]}, D]`,
    );
  }
  if (from[0] === to[0] && from[1] === to[1]) return posEmbed;
  const prefix = slice(posEmbed, [0, 0, 0], [1, prefixTokens, width]);
  const grid = reshape(slice(posEmbed, [0, prefixTokens, 0]), [from[0], from[1] * width]);
  const rows = matmul(tensor(bicubicMatrix(from[0], to[0]), [to[0], from[0]]), grid); // [toH, fromW·D]
  const columnsFirst = permute(reshape(rows, [to[0], from[1], width]), [1, 0, 2]); // [fromW, toH, D]
  const resized = matmul(
    tensor(bicubicMatrix(from[1], to[1]), [to[1], from[1]]),
    reshape(columnsFirst, [from[1], to[0] * width]),
  ); // [toW, toH·D]
  const patches = reshape(permute(reshape(resized, [to[1], to[0], width]), [1, 0, 2]), [1, to[0] * to[1], width]);
  return prefixTokens > 0 ? concat([prefix, patches], 1) : patches;
}
