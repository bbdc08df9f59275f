/**
 * Inline SVG line charts for the report: one polyline per series on shared axes. Each polyline
 * also carries its values as `data-values` ("x,y;x,y;…"), so tests and scripts read the numbers
 * back without inverting the drawing.
 */
import { escapeHtml } from "./escape.ts";

export interface ChartSeries {
  label: string;
  color: string;
  /** [x, y] points; non-finite y values are left out. */
  points: [number, number][];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  /** Fixed y range, e.g. [0, 1] for accuracy; by default the data's own range. */
  yRange?: [number, number];
  width?: number;
  height?: number;
}

const MARGIN = { left: 52, right: 12, top: 24, bottom: 34 };

/** Short, readable tick labels for values of any magnitude. */
export function formatNumber(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

/** A tick label with enough decimals to tell ticks `span` apart (e.g. 228.67 vs 228.9). */
function tickLabel(v: number, span: number): string {
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-4)) return v.toExponential(2);
  const decimals = Math.max(0, Math.min(6, Math.ceil(-Math.log10(span || 1)) + 2));
  return Number(v.toFixed(decimals)).toString();
}

export function lineChart(series: ChartSeries[], options: ChartOptions): string {
  const { title, xLabel, width = 380, height = 220 } = options;
  const finite = series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) }));
  const all = finite.flatMap((s) => s.points);
  const heading = `<text x="${MARGIN.left}" y="15" class="chart-title">${escapeHtml(title)}</text>`;
  if (all.length === 0) {
    return `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${heading}` +
      `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="empty">no data</text></svg>`;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = options.yRange ?? [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - (Math.abs(y0) || 1) * 0.1, y1 + (Math.abs(y1) || 1) * 0.1];
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => (MARGIN.left + ((x - x0) / (x1 - x0)) * plotW).toFixed(1);
  const sy = (y: number) => (MARGIN.top + (1 - (y - y0) / (y1 - y0)) * plotH).toFixed(1);
  const parts = [heading, `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" class="frame"/>`];
  for (const y of [y0, (y0 + y1) / 2, y1]) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${sy(y)}" y2="${sy(y)}" class="grid"/>`);
    parts.push(`<text x="${MARGIN.left - 4}" y="${sy(y)}" dy="0.35em" text-anchor="end" class="tick">${tickLabel(y, y1 - y0)}</text>`);
  }
  const baseline = MARGIN.top + plotH;
  parts.push(`<text x="${MARGIN.left}" y="${baseline + 14}" class="tick">${formatNumber(x0)}</text>`);
  parts.push(`<text x="${MARGIN.left + plotW}" y="${baseline + 14}" text-anchor="end" class="tick">${formatNumber(x1)}</text>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${baseline + 14}" text-anchor="middle" class="tick">${escapeHtml(xLabel)}</text>`);
  finite.forEach((s, k) => {
    const values = s.points.map(([x, y]) => `${x},${y}`).join(";");
    const drawn = s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ");
    const label = escapeHtml(s.label);
    parts.push(s.points.length === 1
      ? `<circle cx="${sx(s.points[0][0])}" cy="${sy(s.points[0][1])}" r="3" fill="${s.color}" data-series="${label}" data-values="${values}"/>`
      : `<polyline points="${drawn}" fill="none" stroke="${s.color}" stroke-width="1.5" data-series="${label}" data-values="${values}"/>`);
    const lx = MARGIN.left + 8 + k * 110;
    parts.push(`<rect x="${lx}" y="${height - 12}" width="10" height="3" fill="${s.color}"/>`);
    parts.push(`<text x="${lx + 14}" y="${height - 8}" class="legend">${label}</text>`);
  });
  return `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${parts.join("")}</svg>`;
}
