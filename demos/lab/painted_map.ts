/**
 * A student's painted importance map: brush strokes, and its score with the same Spearman ρ and
 * alignment score (ρ over the human ceiling) that evaluation uses, against any reference map.
 */
import { alignmentScore, spearman } from "../../src/harmonize/metrics.ts";

export interface MapScore {
  against: string;
  spearman: number;
  alignment: number;
}

/** The painted map's ρ and alignment against each named reference map of the same size. */
export function scorePaintedMap(painted: Float32Array, references: Record<string, ArrayLike<number>>): MapScore[] {
  return Object.entries(references).map(([against, map]) => {
    const rho = spearman(painted, map);
    return { against, spearman: rho, alignment: alignmentScore([rho]) };
  });
}

/** Adds a soft round brush stroke (Gaussian, radius in map pixels) centred at (x, y) in map pixels. */
export function stamp(map: Float32Array, size: number, x: number, y: number, radius: number): void {
  const sigma = radius / 2;
  const reach = Math.ceil(radius);
  for (let row = Math.max(0, Math.floor(y - reach)); row <= Math.min(size - 1, Math.ceil(y + reach)); row++) {
    for (let col = Math.max(0, Math.floor(x - reach)); col <= Math.min(size - 1, Math.ceil(x + reach)); col++) {
      const d2 = (col + 0.5 - x) ** 2 + (row + 0.5 - y) ** 2;
      if (d2 > radius * radius) continue;
      const i = row * size + col;
      map[i] = Math.min(1, map[i] + Math.exp(-d2 / (2 * sigma * sigma)));
    }
  }
}
