/**
 * Measures what the lab's default settings show, headless in Deno through the lab's own run code
 * (LabRun → src/run/), on whatever adapter Deno finds (lavapipe on a CPU-only machine):
 *
 *   node_modules/.bin/deno run -A demos/lab/lesson.ts [--seeds 0,1,2] [--steps N] [--profile]
 *
 * Prints, per seed, both members' final validation accuracy and alignment score, the alignment gap,
 * and the mean time of one lab step (both members) — what docs/browser.md reports. --profile: one
 * lab step (after two to warm up) and one evaluation run under the profiler instead, which prints
 * their GPU dispatches and wall times: what the laptop estimate in docs/browser.md starts from.
 */
import { init } from "../../src/engine.ts";
import { formatProfile, profile } from "../../src/profile.ts";
import { MemoryStorage, type EvalEvent } from "../../src/run/mod.ts";
import { DEFAULT_SETTINGS } from "./defaults.ts";
import { LabRun } from "./lab_run.ts";

const flag = (name: string) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};
const values = { seeds: flag("seeds") ?? "0,1,2", steps: flag("steps") };
const backend = await init();
console.log(`adapter: ${backend.adapter.description}`);

if (Deno.args.includes("--profile")) {
  const lab = await LabRun.open(DEFAULT_SETTINGS, { kind: "embedded" }, new MemoryStorage(), false);
  await lab.run.step();
  await lab.run.step();
  const measured: [string, () => Promise<unknown>][] = [
    ["one lab step (both members)", () => lab.run.step()],
    ["one evaluation (both members)", () => lab.run.evaluate()],
  ];
  for (const [what, fn] of measured) {
    const { report } = await profile(fn);
    console.log(`${what}: ${report.dispatches} dispatches, ${report.wallMs.toFixed(0)} ms wall`);
    console.log(formatProfile(report, { top: 5 }));
  }
  await lab.close();
  Deno.exit(0);
}
interface Row {
  seed: number;
  plainAccuracy: number;
  harmonizedAccuracy: number;
  plainAlignment: number;
  harmonizedAlignment: number;
  alignmentGap: number;
  accuracyGap: number;
  msPerStep: number;
}
const rows: Row[] = [];
for (const seed of values.seeds.split(",").map(Number)) {
  const settings = { ...DEFAULT_SETTINGS, seed, ...(values.steps ? { steps: Number(values.steps) } : {}) };
  const lab = await LabRun.open(settings, { kind: "embedded" }, new MemoryStorage(), false);
  const last = new Map<string, EvalEvent>();
  let stepMs = 0;
  let steps = 0;
  lab.run.on((event) => {
    if (event.type !== "eval") return;
    last.set(event.member, event);
    console.error(`  seed ${seed} step ${event.step} ${event.member}: accuracy ${event.accuracy.toFixed(3)}, alignment ${event.alignmentScore.toFixed(3)}`);
  });
  while (!lab.run.finished) {
    const started = performance.now();
    await lab.run.step();
    stepMs += performance.now() - started;
    steps++;
  }
  await lab.run.train(); // the final evaluation, as the lab does at the end
  await lab.close();
  const plain = last.get("plain")!;
  const harmonized = last.get("harmonized")!;
  const row: Row = {
    seed,
    plainAccuracy: plain.accuracy, harmonizedAccuracy: harmonized.accuracy,
    plainAlignment: plain.alignmentScore, harmonizedAlignment: harmonized.alignmentScore,
    alignmentGap: harmonized.alignmentScore - plain.alignmentScore,
    accuracyGap: harmonized.accuracy - plain.accuracy,
    msPerStep: stepMs / steps,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const mean = (key: keyof Row) => rows.reduce((a, r) => a + r[key], 0) / rows.length;
console.log(JSON.stringify({
  settings: DEFAULT_SETTINGS, seeds: rows.length,
  alignmentGap: mean("alignmentGap"), accuracyGap: mean("accuracyGap"), msPerStep: mean("msPerStep"),
}));
