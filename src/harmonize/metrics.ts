/**
 * Alignment metrics of docs/harmonization.md §3, per image on flattened maps, in float64 on the host (the maps
 * come from the GPU; sorting 50k values is cheap next to the backward pass that made them).
 */

/** The human inter-rater ceiling of ClickMe (docs/harmonization.md §3.3). */
export const HUMAN_CEILING = 0.6575315343478081;
const EPSILON = 1e-9;

/** Ranks 1..n with ties given their average rank (scipy.stats.rankdata "average"). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    const rank = (start + end + 1) / 2; // mean of the 1-based ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

function pearson(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  // A constant map has no ranking: NaN, as scipy returns.
  return sab / Math.sqrt(saa * sbb);
}

/** Spearman's ρ with tie-aware ranks, as scipy.stats.spearmanr. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: maps of ${a.length} and ${b.length} values`);
  return pearson(averageRanks(a), averageRanks(b));
}

/** numpy.percentile with linear interpolation. */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const position = (q / 100) * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/** 1 where the value is strictly above the map's (100 − top)th percentile. */
export function binarizeTop(values: ArrayLike<number>, top = 10): Uint8Array {
  const threshold = percentile(values, 100 - top);
  return Uint8Array.from(values as ArrayLike<number>, (v) => (v > threshold ? 1 : 0));
}

export function dice(a: ArrayLike<number>, b: ArrayLike<number>, top = 10): number {
  const ba = binarizeTop(a, top);
  const bb = binarizeTop(b, top);
  let both = 0;
  let total = 0;
  for (let i = 0; i < ba.length; i++) {
    both += ba[i] & bb[i];
    total += ba[i] + bb[i];
  }
  return (2 * both) / (total + EPSILON);
}

export function intersectionOverUnion(a: ArrayLike<number>, b: ArrayLike<number>, top = 10): number {
  const ba = binarizeTop(a, top);
  const bb = binarizeTop(b, top);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < ba.length; i++) {
    inter += ba[i] & bb[i];
    union += ba[i] | bb[i];
  }
  return inter / (union + EPSILON);
}

export interface AlignmentScores {
  spearman: number[];
  dice: number[];
  iou: number[];
}

/** Per-image scores for N maps of `pixels` values each, stored back to back. */
export function alignmentScores(saliency: ArrayLike<number>, human: ArrayLike<number>, pixels: number): AlignmentScores {
  const n = saliency.length / pixels;
  if (!Number.isInteger(n) || saliency.length !== human.length) {
    throw new Error(`alignmentScores: ${saliency.length} and ${human.length} values are not N maps of ${pixels}`);
  }
  const out: AlignmentScores = { spearman: [], dice: [], iou: [] };
  for (let i = 0; i < n; i++) {
    const s = Array.prototype.slice.call(saliency, i * pixels, (i + 1) * pixels) as number[];
    const m = Array.prototype.slice.call(human, i * pixels, (i + 1) * pixels) as number[];
    out.spearman.push(spearman(s, m));
    out.dice.push(dice(s, m));
    out.iou.push(intersectionOverUnion(s, m));
  }
  return out;
}

/**
 * Mean ρ over the ceiling: 1 means as aligned with humans as humans are with each other.
 * As in the reference, a NaN ρ (a constant map) makes the score NaN rather than being skipped.
 */
export function alignmentScore(spearmanPerImage: readonly number[]): number {
  return spearmanPerImage.reduce((a, b) => a + b, 0) / spearmanPerImage.length / HUMAN_CEILING;
}
