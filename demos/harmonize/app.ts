/**
 * The harmonization demo: two identical small ResNets learn the embedded ClickMe-style dataset in
 * the tab, one with cross-entropy alone, one with the harmonizer loss. The training images carry a
 * class-correlated corner mark (a shortcut); validation images do not. The page shows both models'
 * losses, validation accuracy and alignment, and where each one looks, next to where people clicked.
 */
import * as h from "../../src/mod.ts";
import { createModel, type ModelConfig } from "../../src/models/mod.ts";
import type { Module } from "../../src/nn/module.ts";
import { Loader } from "../../src/data/loader.ts";
import type { HostBatch } from "../../src/data/loader.ts";
import { bytesSource } from "../../src/data/source.ts";
import { synthShards } from "../../src/data/synthetic.ts";
import { gpuBatches, toTensors } from "../../src/data/gpu_batches.ts";
import { INCEPTION_AUGMENT } from "../../src/data/augment.ts";
import { Sgd } from "../../src/harmonize/optimizers.ts";
import { trainStep } from "../../src/harmonize/train_step.ts";
import { evaluate, type EvaluationReport } from "../../src/harmonize/evaluate.ts";
import { evaluationSaliency, inputGradient, trainingSaliency } from "../../src/harmonize/saliency.ts";
import { blurPyramid } from "../../src/harmonize/pyramid.ts";
import { standardizeCut } from "../../src/harmonize/standardize.ts";
import { drawCurves, drawImage, drawMap, type Series } from "./render.ts";

export interface DemoOptions {
  size: number;
  classes: number;
  recordsPerShard: number;
  epochs: number;
  batchSize: number;
  lr: number;
  lambdaH: number;
}

export const DEFAULT_OPTIONS: DemoOptions = { size: 32, classes: 4, recordsPerShard: 64, epochs: 6, batchSize: 16, lr: 0.02, lambdaH: 1 };

export interface DemoResult {
  steps: number;
  plain: EvaluationReport;
  harmonized: EvaluationReport;
}

/** One model's training run; `harm` stays empty for the plain model, which is not trained on it. */
type Run = { name: "plain" | "harmonized"; model: Module; optimizer: Sgd; ce: number[]; harm: number[]; reports: EvaluationReport[] };

function element<K extends keyof HTMLElementTagNameMap>(tag: K, parent: HTMLElement, text = "", className = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  parent.appendChild(node);
  return node;
}

async function collect(loader: Loader): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for await (const batch of loader) out.push(batch);
  return out;
}

/** Builds the page inside `root` and trains; resolves with the final evaluations. */
export async function mountDemo(root: HTMLElement, options: DemoOptions = DEFAULT_OPTIONS): Promise<DemoResult> {
  root.replaceChildren();
  const status = element("p", root, "opening WebGPU…", "status");
  const backend = await h.init();
  status.textContent = `device: ${backend.adapter.description}; building the dataset…`;

  const { size, classes } = options;
  const shardOptions = { size, classes, shortcut: true, shards: 1, recordsPerShard: options.recordsPerShard, seed: 11 };
  const [trainShards, valShards] = await Promise.all([
    synthShards({ ...shardOptions, split: "train" }),
    synthShards({ ...shardOptions, split: "val", recordsPerShard: Math.max(options.batchSize, options.recordsPerShard / 2) }),
  ]);
  const preprocess = { size, blurSize: size };
  const trainLoader = new Loader({
    datasets: [{ shards: trainShards.map((s) => bytesSource(s.bytes, s.name)) }],
    batchSize: options.batchSize, dropRemainder: true, shuffleBuffer: 64, seed: 1, preprocess, augment: INCEPTION_AUGMENT,
  });
  const valBatches = await collect(new Loader({ datasets: [{ shards: valShards.map((s) => bytesSource(s.bytes, s.name)) }], batchSize: options.batchSize, preprocess }));

  const config: ModelConfig = { arch: "resnet", block: "basic", layers: [1, 1, 1], widths: [16, 32, 64], classes, stemKernel: 3, stemStride: 1, stemPool: true, seed: 5 };
  const runs: Run[] = (["plain", "harmonized"] as const).map((name) => {
    const model = createModel(config);
    return { name, model, optimizer: new Sgd(model.namedParameters(), { momentum: 0.9, nesterov: true }), ce: [], harm: [], reports: [] };
  });

  const chart = element("canvas", root);
  chart.width = 640;
  chart.height = 220;
  const table = element("table", root);
  const gallery = element("div", root, "", "gallery");
  const pyramid = element("div", root, "", "pyramid");

  const render = async () => {
    const series: Series[] = [
      ...runs.map((r) => ({ label: `${r.name}: cross-entropy`, color: r.name === "plain" ? "#c33" : "#36c", values: r.ce })),
      { label: "harmonized: harmonization term", color: "#36c", values: runs[1].harm, dashed: true },
    ];
    drawCurves(chart, series);
    table.replaceChildren();
    const head = element("tr", table);
    for (const title of ["model", "val accuracy", "alignment score", "Spearman ρ", "Dice", "IoU"]) element("th", head, title);
    for (const r of runs) {
      const last = r.reports[r.reports.length - 1];
      if (!last) continue;
      const row = element("tr", table);
      for (const cell of [r.name, `${(100 * last.accuracy).toFixed(1)} %`, last.alignmentScore.toFixed(3), last.spearman.toFixed(3), last.dice.toFixed(3), last.iou.toFixed(3)]) {
        element("td", row, cell);
      }
    }
    await drawGallery(gallery, runs, valBatches[0], classes, size);
    await drawPyramid(pyramid, runs[1].model, valBatches[0], classes, size);
  };

  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for await (const host of trainLoader) {
      const batch = toTensors(host);
      for (const r of runs) {
        const result = trainStep(r.model, r.optimizer, batch, { mode: r.name, lr: options.lr, classes, harmonization: options.lambdaH });
        r.ce.push(await result.parts.crossEntropy.item());
        if (r.name === "harmonized") r.harm.push(await result.parts.harmonization.item());
        h.dispose(result);
      }
      h.dispose(batch);
      step++;
      status.textContent = `epoch ${epoch + 1}/${options.epochs}, step ${step}`;
      drawCurves(chart, runs.flatMap((r) => [{ label: r.name, color: r.name === "plain" ? "#c33" : "#36c", values: r.ce }]));
    }
    for (const r of runs) r.reports.push(await evaluate(r.model, gpuBatches(valBatches), classes));
    await render();
  }
  status.textContent = `done: ${step} steps per model on ${backend.adapter.description}`;
  const result = { steps: step, plain: runs[0].reports.at(-1)!, harmonized: runs[1].reports.at(-1)! };
  for (const r of runs) {
    r.optimizer.dispose();
    r.model.dispose();
  }
  return result;
}

/** Image, human map, and each model's evaluation saliency for the first validation images. */
async function drawGallery(parent: HTMLElement, runs: Run[], host: HostBatch, classes: number, size: number): Promise<void> {
  parent.replaceChildren();
  const shown = Math.min(4, host.size);
  const maps = await Promise.all(runs.map(async (r) => {
    r.model.eval();
    const batch = toTensors(host);
    const saliency = h.tidy(() => evaluationSaliency(inputGradient((x) => r.model.forward(x), batch.images, h.oneHot(batch.labels, classes)).gradient));
    const data = await saliency.data();
    h.dispose([saliency, batch]);
    r.model.train();
    return data;
  }));
  const plane = size * size;
  for (let i = 0; i < shown; i++) {
    const column = element("figure", parent);
    drawImage(element("canvas", column), host.images.subarray(3 * plane * i, 3 * plane * (i + 1)), size);
    drawMap(element("canvas", column), host.heatmaps.subarray(plane * i, plane * (i + 1)), size);
    runs.forEach((_, k) => drawMap(element("canvas", column), maps[k].subarray(plane * i, plane * (i + 1)), size));
    element("figcaption", column, `image · people · plain · harmonized`);
  }
}

/** The pyramid the harmonization term compares, level by level, for one image. */
async function drawPyramid(parent: HTMLElement, model: Module, host: HostBatch, classes: number, size: number): Promise<void> {
  parent.replaceChildren();
  element("p", parent, "What the loss compares: the standardized saliency (top) and human map (bottom) at five blur levels.");
  model.train();
  const batch = toTensors(host);
  const levels = h.tidy(() => {
    const { gradient } = inputGradient((x) => model.forward(x), batch.images, h.oneHot(batch.labels, classes));
    const s = standardizeCut(trainingSaliency(gradient));
    const m = standardizeCut(batch.heatmaps);
    return [...blurPyramid(s), ...blurPyramid(m)];
  });
  const rows = [element("div", parent), element("div", parent)];
  for (let k = 0; k < levels.length; k++) {
    const level = levels[k];
    const side = level.shape[1];
    const data = await level.data();
    const canvas = element("canvas", rows[k < 5 ? 0 : 1]);
    drawMap(canvas, data.subarray(0, side * level.shape[2]), side);
    canvas.style.width = canvas.style.height = `${Math.max(24, (96 * side) / size)}px`;
  }
  h.dispose([levels, batch]);
}
