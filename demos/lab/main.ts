/**
 * The lab page: draws what the training worker reports and sends it the user's commands. Nothing
 * here touches the GPU, so the page stays responsive while a harmonized step runs.
 */
import { DEFAULT_SETTINGS } from "./defaults.ts";
import { checkSetting, formatHash, parseHash } from "./hash_state.ts";
import { PaintSurface } from "./paint.ts";
import { scorePaintedMap } from "./painted_map.ts";
import { Chart, type Series } from "./render.ts";
import type { DataChoice, EvalEvent, GalleryEvent, LabSettings, PageMessage, PaintImages, PyramidEvent, StepEvent, WorkerMessage } from "./protocol.ts";


const COLORS: Record<string, string> = { plain: "#c0392b", harmonized: "#2166ac", human: "#1b7837" };

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>("settings");
const status = $("status");
const errorBox = $("error");
const progress = $("progress");
const buttons = {
  play: $<HTMLButtonElement>("play"),
  pause: $<HTMLButtonElement>("pause"),
  step: $<HTMLButtonElement>("step"),
  downloadPlain: $<HTMLButtonElement>("download-plain"),
  downloadHarmonized: $<HTMLButtonElement>("download-harmonized"),
  loseDevice: $<HTMLButtonElement>("lose-device"),
  paintAdd: $<HTMLButtonElement>("paint-add"),
};

const charts = $("charts");
const lossChart = new Chart(charts, "Loss parts: cross-entropy and harmonization term");
const weightChart = new Chart(charts, "Weight norm ½‖θ‖² (enters the loss times λ_w)", "tight");
const validationChart = new Chart(charts, "Validation: accuracy and alignment score", [0, 1.2]);

/** Everything the page has been told, kept to redraw charts and tables. */
/** The newest evaluation of each member, for the results table. */
const latestEval = new Map<string, EvalEvent>();
let paintImages: PaintImages | null = null;
let settings: LabSettings = DEFAULT_SETTINGS;
let data: DataChoice = { kind: "embedded" };
let paint: PaintSurface | null = null;

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const send = (message: PageMessage) => worker.postMessage(message);

// ------------------------------------------------------------------------------------------ settings

function readForm(): { settings: LabSettings; problems: string[] } {
  const values = new FormData(form);
  const next = { ...settings };
  const problems: string[] = [];
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof LabSettings)[]) {
    const raw = String(values.get(key) ?? "");
    if (key === "model") {
      next.model = raw === "vit" ? "vit" : "resnet";
      continue;
    }
    const value = Number(raw);
    const problem = raw.trim() === "" ? `${key} is empty` : checkSetting(key, value);
    if (problem) problems.push(problem);
    else next[key] = value;
  }
  return { settings: next, problems };
}

function fillForm(s: LabSettings): void {
  for (const [key, value] of Object.entries(s)) {
    const field = form.elements.namedItem(key) as HTMLInputElement | HTMLSelectElement | null;
    if (field) field.value = String(value);
  }
}

function showSettings(s: LabSettings): void {
  settings = s;
  fillForm(s);
  const hash = formatHash(s, DEFAULT_SETTINGS);
  if (location.hash !== hash) history_replace(hash);
}

function history_replace(hash: string): void {
  globalThis.history.replaceState(null, "", hash || location.pathname + location.search);
}

function showError(message: string | null): void {
  errorBox.hidden = message === null;
  errorBox.textContent = message ?? "";
}

// ------------------------------------------------------------------------------------------- drawing

/** Redraws the charts and the results table once per frame, however many messages arrived in it. */
let drawPending = false;
let resultsChanged = false;
function scheduleDraw(results = false): void {
  resultsChanged ||= results;
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    drawCharts();
    if (resultsChanged) drawResults();
    resultsChanged = false;
  });
}

/**
 * The charts' series, grown point by point as events arrive (rebuilding them from the history at
 * every frame made enough garbage for the collector to hold up the page).
 */
const curves = { loss: new Map<string, Series>(), weights: new Map<string, Series>(), validation: new Map<string, Series>() };

function curve(chart: Map<string, Series>, key: string, label: string, color: string, dashed = false): Series {
  let series = chart.get(key);
  if (!series) chart.set(key, series = { label, color, dashed, points: [] });
  return series;
}

/** Adds a point, replacing one at the same step (an evaluation repeated after a resume). */
function addPoint(series: Series, x: number, y: number): void {
  const last = series.points[series.points.length - 1];
  if (last && last[0] === x) last[1] = y;
  else series.points.push([x, y]);
}

function addSteps(events: StepEvent[]): void {
  for (const e of events) {
    const color = COLORS[e.member];
    addPoint(curve(curves.loss, `${e.member}.ce`, `${e.member}: cross-entropy`, color), e.step, e.crossEntropy);
    if (e.member === "harmonized") addPoint(curve(curves.loss, `${e.member}.h`, `${e.member}: harmonization`, color, true), e.step, e.harmonization);
    addPoint(curve(curves.weights, e.member, e.member, color), e.step, e.weightL2);
  }
}

function addEvals(events: EvalEvent[]): void {
  for (const e of events) {
    const color = COLORS[e.member];
    addPoint(curve(curves.validation, `${e.member}.accuracy`, `${e.member}: accuracy`, color), e.step, e.accuracy);
    addPoint(curve(curves.validation, `${e.member}.alignment`, `${e.member}: alignment`, color, true), e.step, e.alignmentScore);
    latestEval.set(e.member, e);
  }
}

/** Drops every point after `step` (a run continued from an earlier autosave). */
function cutCurves(step: number): void {
  for (const chart of Object.values(curves)) for (const series of chart.values()) series.points = series.points.filter(([x]) => x <= step);
}

function clearCurves(): void {
  for (const chart of Object.values(curves)) chart.clear();
  latestEval.clear();
}

function drawCharts(): void {
  lossChart.draw([...curves.loss.values()]);
  weightChart.draw([...curves.weights.values()]);
  validationChart.draw([...curves.validation.values()]);
}

function drawResults(): void {
  const body = $("results").querySelector("tbody")!;
  const latest = latestEval;
  body.replaceChildren(...[...latest.values()].map((e) => {
    const row = document.createElement("tr");
    row.dataset.member = e.member;
    row.dataset.evaluation = JSON.stringify(e);
    for (const text of [e.member, `${(100 * e.accuracy).toFixed(1)} %`, e.alignmentScore.toFixed(3), e.spearman.toFixed(3), e.dice.toFixed(3), e.iou.toFixed(3)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    return row;
  }));
}

function tile(parent: HTMLElement, label: string, source: string): void {
  const box = document.createElement("div");
  box.className = "tile";
  const image = document.createElement("img");
  if (source) image.src = source;
  image.alt = label;
  const caption = document.createElement("span");
  caption.textContent = label;
  box.append(image, caption);
  parent.appendChild(box);
}

/** Updates the gallery in place (new sources only where a map changed): little main-thread work per evaluation. */
function drawGallery(g: GalleryEvent): void {
  const members = Object.keys(g.galleries);
  const first = g.galleries[members[0]] ?? [];
  const root = $("gallery");
  const shape = `${first.length}:${members.join(",")}`;
  if (root.dataset.shape !== shape) {
    root.dataset.shape = shape;
    root.replaceChildren(...first.map(() => {
      const figure = document.createElement("figure");
      figure.appendChild(document.createElement("figcaption"));
      for (const label of ["image", "people", ...members]) tile(figure, label, "");
      return figure;
    }));
  }
  // One figure per animation frame: an evaluation never costs the page one long task.
  first.forEach((entry, i) => inFrame(i, () => {
    const figure = root.children[i];
    if (!figure) return;
    const guesses = members.map((m) => `${m}: ${g.classNames[g.galleries[m][i].predicted] ?? g.galleries[m][i].predicted}`).join(", ");
    const caption = `${g.classNames[entry.label] ?? entry.label} (${guesses})`;
    const text = figure.querySelector("figcaption")!;
    if (text.textContent !== caption) text.textContent = caption;
    const sources = [entry.image, entry.human, ...members.map((m) => g.galleries[m][i].saliency)];
    setSources(figure, sources);
  }));
  paintImages = g.paint;
  const labels = g.paint.labels;
  for (const select of [$<HTMLSelectElement>("pyramid-image"), $<HTMLSelectElement>("paint-image")]) {
    if (select.options.length === labels.length && [...select.options].every((o, i) => o.text === `${i + 1}: ${labels[i]}`)) continue;
    const chosen = select.value;
    select.replaceChildren(...labels.map((label, i) => new Option(`${i + 1}: ${label}`, String(i))));
    select.value = chosen || "0";
  }
  if (!paint) {
    paint = new PaintSurface($<HTMLCanvasElement>("paint-canvas"), g.paint.size, scorePaint);
    choosePaintImage();
  }
  scorePaint();
}

/** New sources for the images below `parent`, in order; unchanged ones are left alone. */
function setSources(parent: Element, sources: string[]): void {
  parent.querySelectorAll("img").forEach((image, k) => {
    if (sources[k] !== undefined && image.getAttribute("src") !== sources[k]) image.src = sources[k];
  });
}

/** Runs `fn` `frames` animation frames from now (0: the next one). */
function inFrame(frames: number, fn: () => void): void {
  requestAnimationFrame(() => (frames > 0 ? inFrame(frames - 1, fn) : fn()));
}

function drawPyramid(p: PyramidEvent): void {
  const root = $("pyramid");
  const shape = p.pyramid.levels.map((l) => `${l.width}×${l.height}`).join(",");
  if (root.dataset.shape !== shape) {
    root.dataset.shape = shape;
    root.replaceChildren(...(["saliency", "people"] as const).map((which) => {
      const row = document.createElement("div");
      row.className = "row";
      for (const level of p.pyramid.levels) tile(row, `${which} ${level.width}×${level.height}`, "");
      return row;
    }));
  }
  const [saliencyRow, humanRow] = root.children;
  inFrame(0, () => {
    setSources(saliencyRow, p.pyramid.levels.map((l) => l.saliency));
    p.pyramid.levels.forEach((level, k) => saliencyRow.children[k]?.setAttribute("title", `level ${k}: mean squared difference ${level.mse.toFixed(4)}`));
  });
  inFrame(1, () => setSources(humanRow, p.pyramid.levels.map((l) => l.human)));
}

function choosePaintImage(): void {
  if (!paintImages || !paint) return;
  const i = Number($<HTMLSelectElement>("paint-image").value || 0);
  const plane = paintImages.size * paintImages.size;
  paint.setImage(paintImages.images.subarray(3 * plane * i, 3 * plane * (i + 1)));
  scorePaint();
}

function scorePaint(): void {
  const body = $("paint-scores").querySelector("tbody")!;
  const gallery = paintImages;
  if (!gallery || !paint || !paint.map.some((v) => v > 0)) {
    body.replaceChildren();
    buttons.paintAdd.disabled = true;
    return;
  }
  const i = Number($<HTMLSelectElement>("paint-image").value || 0);
  const plane = gallery.size * gallery.size;
  const references: Record<string, ArrayLike<number>> = { people: gallery.human.subarray(plane * i, plane * (i + 1)) };
  for (const [member, maps] of Object.entries(gallery.saliency)) references[`${member} model`] = maps.subarray(plane * i, plane * (i + 1));
  body.replaceChildren(...scorePaintedMap(paint.map, references).map((score) => {
    const row = document.createElement("tr");
    row.dataset.against = score.against;
    for (const text of [score.against, score.spearman.toFixed(3), score.alignment.toFixed(3)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    return row;
  }));
  buttons.paintAdd.disabled = false;
}

// ------------------------------------------------------------------------------------- worker events

function setRunning(running: boolean, step: number, steps: number): void {
  progress.textContent = `step ${step} / ${steps}${running ? " (training)" : ""}`;
  progress.dataset.step = String(step);
  progress.dataset.running = String(running);
  buttons.play.disabled = running || step >= steps;
  const label = step > 0 ? "Resume" : "Start";
  if (buttons.play.textContent !== label) buttons.play.textContent = label;
  buttons.pause.disabled = !running;
  buttons.step.disabled = step >= steps;
}

/**
 * The autosave line beside the progress: whether the run survives a reload, and its last autosave.
 * It has its own line, since the status line is overwritten by every message.
 */
const autosave = $("autosave");
/** Steps between autosaves of the open run, or null when it is not autosaved. */
let autosaveEvery: number | null = null;
function showAutosave(state: Extract<WorkerMessage, { type: "autosave" }>): void {
  autosave.classList.toggle("off", !state.enabled);
  autosaveEvery = state.enabled ? state.every : null;
  if (state.enabled) showAutosaved(null);
  else autosave.textContent = `Autosave is off (${state.reason}): the run lives in memory only and a reload loses it.`;
}

/** The step of the newest autosave (null: none yet). */
function showAutosaved(step: number | null): void {
  if (autosaveEvery === null) return;
  if (step === null) delete autosave.dataset.step;
  else autosave.dataset.step = String(step);
  autosave.textContent = `Autosave: every ${autosaveEvery} steps and on pause, in this browser; ${step === null ? "nothing saved yet" : `last at step ${step}`}.`;
}

function download(name: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
  const message = event.data;
  switch (message.type) {
    case "saved-run":
      if (message.step !== null && message.settings) {
        $("resume-text").textContent = `This browser holds an autosaved run at step ${message.step} (${message.settings.model}, seed ${message.settings.seed}, λ_h ${message.settings.lambdaH}).`;
        $("resume-offer").hidden = false;
        status.textContent = "Resume the saved run, or start fresh.";
      } else startRun(false);
      return;
    case "ready":
      showSettings(message.settings);
      showAutosaved(message.resumedFrom);
      status.textContent = `Training on ${message.adapter}.` + (message.resumedFrom !== null ? ` Resumed from the autosave at step ${message.resumedFrom}${message.painted ? `, with ${message.painted} painted target${message.painted > 1 ? "s" : ""}` : ""}.` : "");
      for (const b of [buttons.downloadPlain, buttons.downloadHarmonized, buttons.loseDevice]) b.disabled = false;
      return;
    case "state":
      return setRunning(message.running, message.step, message.steps);
    case "status":
      status.textContent = message.text;
      return;
    case "step":
      addSteps(message.events);
      return scheduleDraw();
    case "eval":
      addEvals(message.events);
      return scheduleDraw(true);
    case "gallery":
      return drawGallery(message.gallery);
    case "pyramid":
      return drawPyramid(message.pyramid);
    case "autosave":
      return showAutosave(message);
    case "autosaved":
      return showAutosaved(message.step);
    case "recovered":
      status.textContent = `The GPU device was lost (${message.reason}). A new device was opened and training continues from the autosave at step ${message.step}.`;
      status.dataset.recovered = String(message.step);
      showAutosaved(message.step);
      cutCurves(message.step);
      return scheduleDraw(true);
    case "file":
      return download(message.name, message.bytes);
    case "error":
      showError(message.message);
      status.textContent = "Stopped by an error.";
      return;
  }
};
worker.onerror = (event) => showError(`the training worker failed: ${event.message}`);

function startRun(resume: boolean): void {
  $("resume-offer").hidden = true;
  showError(null);
  clearCurves();
  scheduleDraw(true);
  status.textContent = resume ? "Opening the GPU and restoring the autosave…" : "Opening the GPU and building the dataset…";
  send({ type: "init", settings, data, resume });
}

// ---------------------------------------------------------------------------------------- user input

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const { settings: next, problems } = readForm();
  if (problems.length) return showError(problems.join("\n"));
  showSettings(next);
  startRun(false);
});

// λ_h, learning rate and batch size apply to the running run from the next step on.
for (const key of ["lambdaH", "lr", "batchSize"] as const) {
  (form.elements.namedItem(key) as HTMLInputElement).addEventListener("change", () => {
    const { settings: next, problems } = readForm();
    const problem = problems.find((p) => p.startsWith(key));
    if (problem) return showError(problem);
    showError(null);
    showSettings({ ...settings, [key]: next[key] });
    send({ type: "set", [key]: next[key] });
    status.textContent = `${key === "lambdaH" ? "λ_h" : key === "lr" ? "learning rate" : "batch size"} is now ${next[key]} from the next step on.`;
  });
}

buttons.play.addEventListener("click", () => send({ type: "play" }));
buttons.pause.addEventListener("click", () => send({ type: "pause" }));
buttons.step.addEventListener("click", () => send({ type: "step" }));
buttons.downloadPlain.addEventListener("click", () => send({ type: "download", member: "plain" }));
buttons.downloadHarmonized.addEventListener("click", () => send({ type: "download", member: "harmonized" }));
buttons.loseDevice.addEventListener("click", () => send({ type: "lose-device" }));
$("resume-button").addEventListener("click", () => startRun(true));
$("fresh-button").addEventListener("click", () => startRun(false));
$<HTMLInputElement>("upload").addEventListener("change", (event) => {
  const files = [...((event.target as HTMLInputElement).files ?? [])];
  if (files.length) send({ type: "upload", files });
});
$("pyramid-image").addEventListener("change", (event) => send({ type: "pyramid", index: Number((event.target as HTMLSelectElement).value) }));
$("paint-image").addEventListener("change", choosePaintImage);
$("paint-clear").addEventListener("click", () => {
  paint?.clear();
  scorePaint();
});
buttons.paintAdd.addEventListener("click", () => {
  if (!paint) return;
  send({ type: "add-target", index: Number($<HTMLSelectElement>("paint-image").value || 0), map: Float32Array.from(paint.map) });
});

function useShards(choice: DataChoice, name: string): void {
  data = choice;
  $("data-name").textContent = name;
  startRun(false);
}
$<HTMLInputElement>("shard-files").addEventListener("change", (event) => {
  const files = [...((event.target as HTMLInputElement).files ?? [])];
  if (files.length) useShards({ kind: "files", files }, files.map((f) => f.name).join(", "));
});
const drop = $("drop-zone");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const files = [...(event.dataTransfer?.files ?? [])];
  if (files.length) useShards({ kind: "files", files }, files.map((f) => f.name).join(", "));
});
$("url-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const urls = $<HTMLTextAreaElement>("shard-urls").value.split(/\s+/).filter(Boolean);
  if (urls.length) useShards({ kind: "urls", urls }, urls.join(", "));
});
$("use-embedded").addEventListener("click", () => useShards({ kind: "embedded" }, "the embedded dataset"));

addEventListener("resize", () => {
  for (const chart of [lossChart, weightChart, validationChart]) chart.resized();
  scheduleDraw();
});
addEventListener("hashchange", () => {
  const { settings: next, problems } = parseHash(location.hash, DEFAULT_SETTINGS);
  if (problems.length) showError(problems.join("\n"));
  fillForm(next);
  settings = next;
});

{
  const { settings: initial, problems } = parseHash(location.hash, DEFAULT_SETTINGS);
  if (problems.length) showError(problems.join("\n"));
  settings = initial;
  fillForm(initial);
  drawCharts();
}
