/**
 * Peak GPU memory of a harmonized training step, by phase, and whether memory leaks across steps:
 * runs --steps SGD steps of each model on the synthetic batch of bench/harmonize (step.ts), each
 * under the profiler, and prints per step the phase table (live bytes at start, peak, at end) and
 * the bytes still live once the step's results are disposed, which must not grow from step to
 * step. Memory is counted by the buffer pool at recording time, so the numbers do not depend on
 * the machine's load (the times printed do).
 *
 *   deno task bench:memory [--models resnet18,vit_tiny] [--size 224] [--batch 8] [--steps 2]
 *                          [--mode harmonized|plain]
 */
import { parseArgs } from "node:util";
import { dispose, init, memory } from "../../src/mod.ts";
import { createModel, type Model } from "../../src/models/mod.ts";
import { Sgd } from "../../src/harmonize/optimizers.ts";
import { trainStep } from "../../src/harmonize/train_step.ts";
import { profile } from "../../src/profile.ts";
import { formatNumber, formatTable, intOption, listOption } from "../lib.ts";
import { hostBatch, uploadBatch } from "./step.ts";

const CLASSES = 1000;
const MODELS: Record<string, (size: number) => Model> = {
  resnet18: () => createModel({ arch: "resnet", preset: "resnet18", classes: CLASSES }),
  vit_tiny: (size) => createModel({ arch: "vit", preset: "vit_tiny_patch16_224", imageSize: size, classes: CLASSES }),
};

const { values } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string", default: "resnet18,vit_tiny" },
    size: { type: "string", default: "224" },
    batch: { type: "string", default: "8" },
    steps: { type: "string", default: "2" },
    mode: { type: "string", default: "harmonized" },
  },
});
const models = listOption(values.models);
for (const m of models) if (!(m in MODELS)) throw new Error(`--models: unknown model "${m}" (known: ${Object.keys(MODELS).join(", ")})`);
const size = intOption("size", values.size);
const batchSize = intOption("batch", values.batch);
const steps = Math.max(1, intOption("steps", values.steps));
const mode = values.mode;
if (mode !== "harmonized" && mode !== "plain") throw new Error(`--mode: "harmonized" or "plain", got "${mode}"`);

const backend = await init();
const loadAverage = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`${backend.adapter.description}; ${mode} step, batch ${batchSize}, ${size}×${size}; load average ${loadAverage()}`);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

for (const name of models) {
  const model = MODELS[name](size);
  const optimizer = new Sgd(model.namedParameters());
  const batch = uploadBatch(hostBatch(batchSize, size, CLASSES));
  const liveAfter: number[] = [];
  try {
    for (let step = 1; step <= steps; step++) {
      const started = performance.now();
      const { result, report } = await profile(async () => {
        const result = trainStep(model, optimizer, batch, { mode, lr: 0.01, classes: CLASSES });
        await result.parts.total.item();
        return result;
      });
      const loss = await result.parts.total.item();
      dispose(result);
      liveAfter.push(memory().liveBytes);
      const peak = Math.max(...report.phases.map((p) => p.peakBytes));
      console.log(`\n${name} step ${step}: peak ${mib(peak)} MiB (${formatNumber(peak / 2 ** 30)} GiB), loss ${loss.toPrecision(6)}, ` +
        `${formatNumber((performance.now() - started) / 1000)} s, load average ${loadAverage()}`);
      console.log(formatTable(
        ["phase", "live MiB at start", "peak MiB", "live MiB at end"],
        report.phases.map((p) => [p.name, mib(p.startLiveBytes), mib(p.peakBytes), mib(p.endLiveBytes)]),
      ));
    }
    const growth = liveAfter.slice(1).map((bytes, i) => bytes - liveAfter[i]);
    console.log(`${name}: live bytes after each step ${liveAfter.join(", ")}; growth ${growth.join(", ") || "—"}` +
      (growth.some((g) => g !== 0) ? " (LEAK)" : ""));
  } finally {
    dispose(batch);
    optimizer.dispose();
    model.dispose();
  }
}
