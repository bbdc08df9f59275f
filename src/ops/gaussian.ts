/** The ClickMe heatmap blur's Gaussian (docs/harmonization.md §2.4), shared by the CPU data pipeline and the GPU blur. */

export const BLUR_KERNEL_SIZE = 10;
export const BLUR_SIGMA = 10;

/**
 * The reference's kernel, separable: its meshgrid puts x = −5..4 across the columns and
 * y = 4..−5 down the rows, so the row taps are g(4−i) and the column taps g(j−5); each normalised.
 */
export function gaussianTaps(size = BLUR_KERNEL_SIZE, sigma = BLUR_SIGMA): { rows: Float64Array; cols: Float64Array } {
  const yFirst = Math.floor((size - 1) / 2);
  const xFirst = Math.floor(-(size - 1) / 2);
  const g = (d: number) => Math.exp(-(d * d) / (2 * sigma * sigma));
  const rows = new Float64Array(size);
  const cols = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    rows[i] = g(yFirst - i);
    cols[i] = g(xFirst + i);
  }
  const sum = rows.reduce((a, b) => a + b, 0);
  return { rows: rows.map((v) => v / sum), cols: cols.map((v) => v / sum) };
}
