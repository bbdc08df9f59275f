/**
 * The run report: one self-contained HTML page (inline CSS and SVG, images as PNG data URLs; no
 * script, no link to anything) with the loss-part curves, validation accuracy and alignment per
 * evaluation, confusion matrices, a gallery of where each member looks next to where people
 * looked, the pyramid levels the harmonization term compares, and the config and adapter.
 * Members of one run appear side by side.
 */
import { escapeHtml } from "./escape.ts";
import { type ChartSeries, formatNumber, lineChart } from "./svg_chart.ts";
import type { EvalRecord, InspectionRecord, ReportData, StepRecord } from "./run_data.ts";

const MEMBER_COLORS: Record<string, string> = { plain: "#c0392b", harmonized: "#2e6fd8" };
const OTHER_COLORS = ["#27ae60", "#8e44ad", "#d35400", "#16a085"];

const LOSS_PARTS: { key: keyof StepRecord; title: string }[] = [
  { key: "total", title: "total loss" },
  { key: "crossEntropy", title: "cross-entropy" },
  { key: "harmonization", title: "harmonization term" },
  { key: "weightL2", title: "weight L2 (½‖θ‖²)" },
];

const EVAL_METRICS: { key: keyof EvalRecord; title: string; range?: [number, number] }[] = [
  { key: "accuracy", title: "validation accuracy", range: [0, 1] },
  { key: "alignmentScore", title: "alignment score (ρ / human ceiling)" },
  { key: "spearman", title: "Spearman ρ" },
  { key: "dice", title: "Dice (top 10 %)" },
  { key: "iou", title: "IoU (top 10 %)" },
];

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 3px 8px; border: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.charts, .side { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.chart { background: #fff; } .chart .frame { fill: none; stroke: #bbb; } .chart .grid { stroke: #eee; }
.chart text { font-size: 11px; fill: #444; } .chart .chart-title { font-size: 12px; font-weight: 600; fill: #222; }
.confusion td { min-width: 28px; text-align: center; } .confusion th { font-weight: normal; }
.gallery img, .pyramid img { image-rendering: pixelated; display: block; }
.gallery img { width: 88px; height: 88px; } .gallery td { text-align: center; vertical-align: top; font-size: 12px; }
.pyramid img { width: 48px; height: 48px; } .pyramid td { text-align: center; font-size: 12px; }
.gallery th, .pyramid th { text-align: center; }
.right { color: #1e7b34; } .wrong { color: #b03a2e; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 12px; }
`;

export function memberColor(name: string, index: number): string {
  return MEMBER_COLORS[name] ?? OTHER_COLORS[index % OTHER_COLORS.length];
}

const fixed = (v: number | null | undefined, digits: number) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–");
const percent = (v: number | null | undefined) => (typeof v === "number" && Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : "–");

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2>${body}</section>`;
}

function series<T>(data: ReportData, records: T[], member: (r: T) => string, x: (r: T) => number, y: (r: T) => number): ChartSeries[] {
  return data.members.map((name, k) => ({
    label: name,
    color: memberColor(name, k),
    points: records.filter((r) => member(r) === name).map((r) => [x(r), y(r)] as [number, number]),
  })).filter((s) => s.points.length > 0);
}

function lossCharts(data: ReportData): string {
  if (data.steps.length === 0) return "<p>No training steps recorded.</p>";
  return `<div class="charts">${
    LOSS_PARTS.map(({ key, title }) =>
      lineChart(series(data, data.steps, (r) => r.member, (r) => r.step, (r) => r[key] as number), { title, xLabel: "step" })
    ).join("")
  }</div>`;
}

function validation(data: ReportData): string {
  if (data.evals.length === 0) return "<p>No evaluation recorded.</p>";
  const curves = data.members.some((m) => data.evals.filter((r) => r.member === m).length > 1);
  const charts = curves
    ? EVAL_METRICS.map(({ key, title, range }) =>
      lineChart(series(data, data.evals, (r) => r.member, (r) => r.step, (r) => r[key] as number), { title, xLabel: "step", yRange: range })
    ).join("")
    : "";
  const rows = data.evals.map((r) =>
    `<tr><td>${escapeHtml(r.member)}</td><td>${r.step}</td><td>${Number.isFinite(r.epoch) ? r.epoch : "–"}</td><td>${percent(r.accuracy)}</td>` +
    `<td>${fixed(r.alignmentScore, 3)}</td><td>${fixed(r.spearman, 3)}</td><td>${fixed(r.dice, 3)}</td><td>${fixed(r.iou, 3)}</td>` +
    `<td>${r.images ?? "–"}</td><td>${r.mapped ?? "–"}</td></tr>`
  ).join("");
  return `<div class="charts">${charts}</div><table class="evaluations"><tr><th>member</th><th>step</th><th>epoch</th><th>accuracy</th>` +
    `<th>alignment</th><th>Spearman ρ</th><th>Dice</th><th>IoU</th><th>images</th><th>mapped</th></tr>${rows}</table>`;
}

/** The last evaluation of each member, side by side: the table a reader looks for first. */
function summary(data: ReportData): string {
  const last = data.members.map((name) => data.evals.filter((r) => r.member === name).at(-1));
  if (last.every((r) => r === undefined)) return "";
  const row = (title: string, cell: (r: EvalRecord) => string) =>
    `<tr><td>${title}</td>${last.map((r) => `<td>${r ? cell(r) : "–"}</td>`).join("")}</tr>`;
  return section("summary", "Final validation", `<table class="summary"><tr><th></th>${data.members.map((m) => `<th>${escapeHtml(m)}</th>`).join("")}</tr>` +
    row("step", (r) => String(r.step)) + row("accuracy", (r) => percent(r.accuracy)) + row("alignment score", (r) => fixed(r.alignmentScore, 3)) +
    row("Spearman ρ", (r) => fixed(r.spearman, 3)) + row("Dice", (r) => fixed(r.dice, 3)) + row("IoU", (r) => fixed(r.iou, 3)) +
    row("images (with maps)", (r) => `${r.images} (${r.mapped})`) + `</table>`);
}

const className = (inspection: InspectionRecord, k: number) => escapeHtml(inspection.classNames?.[k] ?? String(k));

function confusion(inspection: InspectionRecord): string {
  const k = inspection.classes;
  const most = Math.max(1, ...inspection.confusion.flat());
  const head = `<tr><th>true \\ predicted</th>${Array.from({ length: k }, (_, j) => `<th>${className(inspection, j)}</th>`).join("")}</tr>`;
  const rows = inspection.confusion.map((row, i) =>
    `<tr><th>${className(inspection, i)}</th>${
      row.map((n, j) => {
        const tint = i === j ? "46,160,67" : "192,57,43";
        return `<td style="background: rgba(${tint},${(0.08 + 0.6 * n / most).toFixed(2)})">${n}</td>`;
      }).join("")
    }</tr>`
  ).join("");
  return `<div><h3>${escapeHtml(inspection.member)}${inspection.step !== undefined ? ` (step ${inspection.step})` : ""}</h3>` +
    `<table class="confusion" data-member="${escapeHtml(inspection.member)}">${head}${rows}</table></div>`;
}

const image = (src: string, alt: string) => `<img src="${src}" alt="${escapeHtml(alt)}">`;

/** One row per validation image: the image, the human map, then each member's evaluation saliency. */
function galleryTable(inspections: InspectionRecord[]): string {
  const first = inspections[0];
  const head = `<tr><th>image</th><th>people</th>${inspections.map((r) => `<th>${escapeHtml(r.member)}</th>`).join("")}</tr>`;
  const rows = first.gallery.map((entry, i) => {
    const cells = inspections.map((r) => {
      const e = r.gallery[i];
      if (!e) return "<td></td>";
      const verdict = e.predicted === e.label ? "right" : "wrong";
      return `<td data-member="${escapeHtml(r.member)}">${image(e.saliency, `${r.member} saliency`)}` +
        `<span class="${verdict}">${className(r, e.predicted)}</span></td>`;
    }).join("");
    return `<tr><td>${image(entry.image, "validation image")}${className(first, entry.label)}</td>` +
      `<td>${image(entry.human, "human map")}${entry.mapped ? "" : "no map"}</td>${cells}</tr>`;
  }).join("");
  return `<table class="gallery">${head}${rows}</table>`;
}

function gallery(inspections: InspectionRecord[]): string {
  const shared = inspections.every((r) => r.gallery.length === inspections[0].gallery.length &&
    r.gallery.every((e, i) => e.image === inspections[0].gallery[i].image));
  const intro = "<p>Validation images, the human map, and each model's evaluation saliency |∂ logit/∂x| (max over channels), " +
    "each drawn on its own range; under each map the predicted class (green right, red wrong).</p>";
  return intro + (shared ? galleryTable(inspections) : inspections.map((r) => galleryTable([r])).join(""));
}

function pyramid(inspection: InspectionRecord): string {
  const p = inspection.pyramid;
  if (!p) return `<div><h3>${escapeHtml(inspection.member)}</h3><p>No validation image has a human map.</p></div>`;
  const levels = p.levels;
  const row = (title: string, pick: (l: typeof levels[number]) => string) =>
    `<tr><th>${title}</th>${levels.map((l) => `<td><img src="${pick(l)}" alt="${title} ${l.width}×${l.height}"></td>`).join("")}</tr>`;
  return `<div><h3>${escapeHtml(inspection.member)}: validation image ${p.index} (${className(inspection, p.label)})</h3>` +
    `<table class="pyramid" data-member="${escapeHtml(inspection.member)}">` +
    `<tr><th></th>${levels.map((l, i) => `<th>level ${i}<br>${l.width}×${l.height}</th>`).join("")}</tr>` +
    row("S′ (saliency)", (l) => l.saliency) + row("Hm″ (people)", (l) => l.human) +
    `<tr><th>mean (S′ − Hm″)²</th>${levels.map((l) => `<td>${formatNumber(l.mse)}</td>`).join("")}</tr></table></div>`;
}

function skips(data: ReportData): string {
  if (data.skips.length === 0) return "";
  const rows = data.skips.map((s) => `<tr><td>${escapeHtml(String(s.shard))}</td><td>${s.record}</td><td>${s.offset}</td><td>${escapeHtml(String(s.reason))}</td></tr>`).join("");
  return section("skipped", `Skipped corrupt records (${data.skips.length})`, `<table><tr><th>shard</th><th>record</th><th>offset</th><th>reason</th></tr>${rows}</table>`);
}

function describeAdapter(config: Record<string, unknown>): string {
  const adapter = config.adapter as Record<string, unknown> | undefined;
  if (!adapter || typeof adapter !== "object") return "unknown adapter";
  const parts = [adapter.description, adapter.kind, adapter.vendor, adapter.architecture].filter((v) => typeof v === "string" && v);
  return `${parts.join(" · ") || "unnamed adapter"}${adapter.fallback || adapter.isFallbackAdapter ? " (fallback adapter)" : ""}`;
}

export function renderReport(data: ReportData): string {
  const { config } = data;
  const inspections = data.members.map((m) => data.inspections.find((r) => r.member === m)).filter((r): r is InspectionRecord => !!r);
  const meta = [
    typeof config.createdAt === "string" ? `created ${config.createdAt}` : "",
    typeof config.harmonizeVersion === "string" ? `Harmonize ${config.harmonizeVersion}` : "",
    `adapter: ${describeAdapter(config)}`,
    config.seed !== undefined ? `seed ${config.seed}` : "",
    `members: ${data.members.join(", ") || "none"}`,
  ].filter(Boolean).map(escapeHtml).join(" · ");
  const body = [
    `<h1>${escapeHtml(data.title)}</h1><p class="meta">${meta}</p>`,
    summary(data),
    data.steps.length || data.evals.length === 0 ? section("losses", "Training loss, by part", lossCharts(data)) : "",
    section("validation", "Validation per evaluation", validation(data)),
    inspections.length ? section("confusion", "Confusion matrix (validation)", `<div class="side">${inspections.map(confusion).join("")}</div>`) : "",
    inspections.length ? section("gallery", "Where the models look", gallery(inspections)) : "",
    inspections.length
      ? section("pyramid", "What the harmonization term compares",
        "<p>For one validation image (eval mode): the standardised training saliency S′ and the human map Hm″ rescaled to its range, " +
          "at the five blur levels of the pyramid, each pair drawn on one shared range from 0.</p>" +
          `<div class="side">${inspections.map(pyramid).join("")}</div>`)
      : "",
    skips(data),
    section("config", "Configuration", `<p>Adapter: ${escapeHtml(describeAdapter(config))}</p><pre>${escapeHtml(JSON.stringify(config, null, 2))}</pre>`),
  ];
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>` +
    `<style>${STYLE}</style></head><body>${body.join("\n")}</body></html>\n`;
}
