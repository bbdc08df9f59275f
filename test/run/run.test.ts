/**
 * The run model: two members trained on the same batches; a run stopped after a checkpoint and
 * resumed from it equals the uninterrupted run bit for bit (every logged loss and every weight,
 * BatchNorm buffers and optimizer moments included); a NaN stops the run before the update.
 */
import * as h from "../../src/mod.ts";
import { INCEPTION_AUGMENT } from "../../src/data/augment.ts";
import { bytesSource } from "../../src/data/source.ts";
import { synthShards } from "../../src/data/synthetic.ts";
import {
  loaderData, MemoryStorage, METRICS_FILE, NonFiniteError, readText, Run, type RunConfig, type RunData, type StepEvent,
} from "../../src/run/mod.ts";
import { assert, assertEquals, assertRejects, test } from "../harness.ts";

const SIZE = 16;
const CLASSES = 3;

async function data(): Promise<RunData> {
  const shards = async (split: "train" | "val", records: number) =>
    (await synthShards({ split, size: SIZE, classes: CLASSES, shortcut: true, shards: 2, recordsPerShard: records, seed: 5 }))
      .map((s) => bytesSource(s.bytes, s.name));
  const preprocess = { size: SIZE, blurSize: SIZE };
  return loaderData({
    train: { datasets: [{ shards: await shards("train", 6) }], dropRemainder: true, shuffleBuffer: 16, workers: 0, preprocess, augment: INCEPTION_AUGMENT },
    validation: { datasets: [{ shards: await shards("val", 2) }], batchSize: 4, workers: 0, preprocess },
    seed: 9,
    records: 12,
  });
}

function config(overrides: Partial<RunConfig> = {}): RunConfig {
  return {
    seed: 9,
    members: [{ name: "plain", mode: "plain" }, { name: "harmonized", mode: "harmonized" }],
    model: { arch: "resnet", block: "basic", layers: [1], widths: [8], classes: CLASSES, stemKernel: 3, stemStride: 1, stemPool: true, seed: 9 },
    classes: CLASSES,
    imageSize: SIZE,
    batchSize: 4,
    optimizer: { name: "adamw", weightDecay: 0.01 },
    schedule: { kind: "cosine", base: 0.01, warmupSteps: 2 },
    loss: { harmonization: 1, weightDecay: 1e-5 },
    totalSteps: 7,
    evalEvery: 0,
    checkpointEvery: 2,
    ...overrides,
  };
}

/** metrics.jsonl without the wall-clock fields. */
async function losses(storage: MemoryStorage): Promise<string[]> {
  const text = (await readText(storage, METRICS_FILE))!;
  return text.trim().split("\n").map((line) => {
    const { time: _t, imagesPerSecond: _i, ...rest } = JSON.parse(line);
    return JSON.stringify(rest);
  });
}

async function weights(run: Run): Promise<string[]> {
  const out: string[] = [];
  for (const member of run.members) {
    for (const [name, t] of await member.model.hostStateDict()) out.push(`${member.name}.${name}:${Array.from(t.data).join(",")}`);
    for (const [name, t] of member.optimizer.state().tensors) out.push(`${member.name}.${name}:${Array.from(await t.data()).join(",")}`);
  }
  return out;
}

test("run: a run resumed from a checkpoint equals the uninterrupted one bit for bit", async () => {
  await h.init();
  const whole = new MemoryStorage();
  const a = await Run.start({ config: config(), data: await data(), storage: whole });
  const events: StepEvent[] = [];
  a.on((e) => e.type === "step" && events.push(e));
  assertEquals(await a.train(), "finished");
  assertEquals(events.map((e) => `${e.member}@${e.step}/${e.epoch}`).slice(0, 4), ["plain@1/0", "harmonized@1/0", "plain@2/0", "harmonized@2/0"]);
  assertEquals(events.length, 14, "two members × 7 steps (3 steps per epoch)");
  assert(events.every((e) => Number.isFinite(e.total)), "finite losses");

  const parts = new MemoryStorage();
  const b = await Run.start({ config: config(), data: await data(), storage: parts });
  for (let i = 0; i < 5; i++) await b.step(); // checkpoints at 2 and at 4 (and at the epoch end after 3)
  await b.close();
  b.dispose();
  await parts.append(METRICS_FILE, new TextEncoder().encode('{"type":"step","member":"pla')); // killed mid-line
  const c = await Run.resume({ config: config(), data: await data(), storage: parts });
  assertEquals(c.position, { step: 4, epoch: 1, samplesInEpoch: 4 });
  assertEquals(await c.train(), "finished");
  assertEquals(await losses(parts), await losses(whole));
  const [wa, wc] = [await weights(a), await weights(c)];
  assertEquals(wc.length, wa.length);
  wa.forEach((w, i) => assert(w === wc[i], `differs: ${w.slice(0, 60)}`));
  await a.close();
  a.dispose();
  await c.close();
  c.dispose();
});

test("run: a non-finite loss stops the run before the weights are updated, naming member and part", async () => {
  await h.init();
  const storage = new MemoryStorage();
  const run = await Run.start({ config: config({ totalSteps: 3 }), data: await data(), storage });
  await run.step();
  await run.checkpoint("interval");
  const before = await weights(run);
  run.settings.harmonization = NaN;
  const error = await assertRejects(() => run.step(), /the harmonized model's (total|harmonization) loss became NaN at step 2/);
  assert(error instanceof NonFiniteError && error.member === "harmonized", "names the member");
  const after = await weights(run);
  const harmonizedWeights = (ws: string[]) => ws.filter((w) => w.startsWith("harmonized.") && !w.includes("running_") && !w.includes("num_batches"));
  assertEquals(harmonizedWeights(after), harmonizedWeights(before), "harmonized parameters and moments unchanged");
  assertEquals((await run.latestCheckpoints()).harmonized, "memory:checkpoints/harmonized/step-000001");
  await run.close();
  run.dispose();
});
