/**
 * The main job's recipe (src/run/recipe.ts) over several seeds: for each seed a run trains a plain
 * and a harmonized model side by side on the same batches, and evaluates both on the embedded
 * validation images (whose corner mark is random: no shortcut there). Prints one line per seed and
 * member, then a table of mean ± sample standard deviation over the seeds, with the harmonized −
 * plain difference, and the time each member took (training steps; evaluation apart).
 *
 *   deno task bench:recipe [--seeds 0,1,2] [--epochs N] [--lambda-h X]
 *
 * --epochs and --lambda-h override the recipe's (probes). Wall times depend on the machine's load, so the
 * load average is printed before and after, and the process CPU time beside the wall time.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { init } from "../../src/engine.ts";
import type { EvaluationReport } from "../../src/harmonize/evaluate.ts";
import { Run } from "../../src/run/run.ts";
import { type DataSpec, embeddedSpec, runData } from "../../src/run/dataset.ts";
import { MAIN_RECIPE, recipeRunConfig, recipeSteps } from "../../src/run/recipe.ts";
import { formatTable, intOption, listOption } from "../lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { seeds: { type: "string", default: "0,1,2" }, epochs: { type: "string" }, "lambda-h": { type: "string" } },
});
const seeds = listOption(values.seeds).map((s) => intOption("seeds", s));
if (seeds.length === 0) throw new Error("--seeds: give at least one seed, e.g. --seeds 0,1,2");
const lambdaH = values["lambda-h"] === undefined ? MAIN_RECIPE.loss.harmonization : Number(values["lambda-h"]);
if (!(lambdaH >= 0)) throw new Error(`--lambda-h must be a non-negative number, got ${values["lambda-h"]}`);
const recipe = {
  ...MAIN_RECIPE,
  epochs: values.epochs === undefined ? MAIN_RECIPE.epochs : Math.max(1, intOption("epochs", values.epochs)),
  loss: { ...MAIN_RECIPE.loss, harmonization: lambdaH },
};

/** Label, value and decimals of each row of the table. */
const METRICS = [
  ["validation accuracy (%)", (r: EvaluationReport) => 100 * r.accuracy, 1],
  ["alignment score", (r: EvaluationReport) => r.alignmentScore, 3],
  ["Spearman ρ", (r: EvaluationReport) => r.spearman, 3],
  ["Dice (top 10 %)", (r: EvaluationReport) => r.dice, 3],
  ["IoU (top 10 %)", (r: EvaluationReport) => r.iou, 3],
] as const;

const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
const backend = await init();
console.log(`${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs`);
console.log(`adapter: ${backend.adapter.description || `${backend.adapter.vendor} ${backend.adapter.architecture}`}`);
console.log(`recipe: ${JSON.stringify(recipe)}`);
console.log(`${recipeSteps(recipe)} steps per model; seeds ${seeds.join(", ")}; load average ${load()}`);

interface SeedResult {
  reports: Map<string, EvaluationReport>;
  trainSeconds: Map<string, number>;
  wallSeconds: number;
  cpuSeconds: number;
}

/** The embedded dataset as `npm start` draws it for `seed`. */
function dataSpec(seed: number): DataSpec {
  const embedded = embeddedSpec(recipe.trainRecords);
  return {
    train: "embedded", val: "embedded", images: [], imagesWeight: 0, size: recipe.imageSize, classes: recipe.classes, embedded,
    augment: recipe.augment, seed, skipCorrupt: false, workers: 1, records: embedded.trainRecords,
  };
}

async function runSeed(seed: number): Promise<SeedResult> {
  const data = await runData(dataSpec(seed), recipe.batchSize);
  const run = await Run.start({ config: recipeRunConfig(recipe, { seed }), data });
  const trainSeconds = new Map<string, number>();
  run.on((event) => {
    if (event.type === "step") trainSeconds.set(event.member, (trainSeconds.get(event.member) ?? 0) + recipe.batchSize / event.imagesPerSecond);
  });
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    let reports = new Map<string, EvaluationReport>();
    run.on((event) => {
      if (event.type !== "eval") return;
      console.error(`  seed ${seed} step ${event.step} ${event.member}: accuracy ${(100 * event.accuracy).toFixed(1)}%, alignment ${event.alignmentScore.toFixed(3)}`);
      if (event.step === run.config.totalSteps) reports.set(event.member, event);
    });
    await run.train();
    if (reports.size === 0) reports = await run.evaluate();
    const used = process.cpuUsage(cpu);
    return { reports, trainSeconds, wallSeconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  } finally {
    await run.close();
    run.dispose();
  }
}

const results: SeedResult[] = [];
for (const seed of seeds) {
  const result = await runSeed(seed);
  results.push(result);
  for (const [member, r] of result.reports) {
    console.log(
      `seed ${seed} ${member.padEnd(10)} accuracy ${(100 * r.accuracy).toFixed(1)}%  alignment ${r.alignmentScore.toFixed(3)}  ` +
        `ρ ${r.spearman.toFixed(3)}  Dice ${r.dice.toFixed(3)}  IoU ${r.iou.toFixed(3)}  ` +
        `training ${result.trainSeconds.get(member)!.toFixed(0)} s`,
    );
  }
  console.log(`seed ${seed}: ${result.wallSeconds.toFixed(0)} s wall for both models with evaluation, ${result.cpuSeconds.toFixed(0)} s CPU; load average ${load()}`);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
const cell = (xs: number[], d: number) => `${mean(xs).toFixed(d)} ± ${sd(xs).toFixed(d)}`;
const members = ["plain", "harmonized"];
const rows = METRICS.map(([label, get, digits]) => {
  const per = members.map((m) => results.map((r) => get(r.reports.get(m)!)));
  const difference = results.map((_, i) => per[1][i] - per[0][i]);
  return [label, ...per.map((xs) => cell(xs, digits)), cell(difference, digits)];
});
const seconds = members.map((m) => results.map((r) => r.trainSeconds.get(m)!));
rows.push(["training time (s)", ...seconds.map((xs) => cell(xs, 0)), ""]);
rows.push(["both, with evaluation (s)", cell(results.map((r) => r.wallSeconds), 0), "", ""]);
console.log(`\n${seeds.length} seeds (mean ± sample standard deviation), final evaluation on ${results[0].reports.get("plain")!.images} validation images:\n`);
console.log(formatTable(["", "plain", "harmonized", "harmonized − plain"], rows));
console.log(`\nload average at the end ${load()}`);
