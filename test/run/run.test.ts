/**
 * The run model: two members trained on the same batches; a run stopped after a checkpoint and
 * resumed from it equals the uninterrupted run bit for bit (every logged loss and every weight,
 * BatchNorm buffers and optimizer moments included); a NaN stops the run before the update.
 */
import * as h from "../../src/mod.ts";
import type { Batch } from "../../src/data/batch.ts";
import { toTensors } from "../../src/data/gpu_batches.ts";
import { INCEPTION_AUGMENT } from "../../src/data/augment.ts";
import { bytesSource } from "../../src/data/source.ts";
import { synthShards } from "../../src/data/synthetic.ts";
import { evaluate } from "../../src/harmonize/evaluate.ts";
import {
  loaderData, type Member, MemoryStorage, METRICS_FILE, NonFiniteError, readText, Run, type RunConfig, type RunData, type RunEvent,
  type StepEvent,
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
    validation: { datasets: [{ shards: await shards("val", 2) }], batchSize: 2, workers: 0, preprocess },
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

test("run: a stop between evaluation batches logs no evaluation, checkpoints the step, and the resumed run redoes it exactly", async () => {
  await h.init();
  const evalEvery = config({ evalEvery: 2, checkpointEvery: 0 });
  const whole = new MemoryStorage();
  const a = await Run.start({ config: evalEvery, data: await data(), storage: whole });
  assertEquals(await a.train(), "finished");

  // Validation is two batches of 2; the stop comes while the members look at the first one at step 4.
  let stop = new AbortController();
  const seen: string[] = [];
  const evaluator = (member: Member, batches: AsyncIterable<Batch>, position: { step: number }) =>
    evaluate(member.model, batches, CLASSES, () => {
      seen.push(`${member.name}@${position.step}`);
      if (position.step === 4) stop.abort();
    });
  const parts = new MemoryStorage();
  const b = await Run.start({ config: evalEvery, data: await data(), storage: parts, evaluator });
  const events: RunEvent[] = [];
  b.on((e) => events.push(e));
  assertEquals(await b.train(stop.signal), "stopped");
  assertEquals(b.position.step, 4);
  // Evaluations at step 2 (--eval-every), 3 (the epoch's end) and 4, where each member saw one batch of two.
  assertEquals(seen.slice(-4), ["plain@3", "harmonized@3", "plain@4", "harmonized@4"]);
  assertEquals(events.filter((e) => e.type === "eval").map((e) => e.step), [2, 2, 3, 3], "the cut evaluation is not reported");
  const last = events[events.length - 1];
  assert(last.type === "checkpoint" && last.reason === "stop" && last.step === 4, JSON.stringify(last));
  assert(!(await losses(parts)).some((line) => line.includes('"eval"') && line.includes('"step":4')), "no eval line at step 4");
  stop = new AbortController();
  const baseline = h.memory().liveBytes;
  assertEquals(await b.evaluate(stop.signal), null);
  assertEquals(h.memory().liveBytes, baseline, "a cut evaluation frees its batches");
  await b.close();
  b.dispose();

  const c = await Run.resume({ config: evalEvery, data: await data(), storage: parts });
  assertEquals(c.position.step, 4);
  assertEquals(await c.train(), "finished");
  assertEquals(await losses(parts), await losses(whole));
  const [wa, wc] = [await weights(a), await weights(c)];
  wa.forEach((w, i) => assert(w === wc[i], `differs: ${w.slice(0, 60)}`));
  for (const run of [a, c]) {
    await run.close();
    run.dispose();
  }
});

test("run: each validation batch is decoded once per evaluation, for every member, with the reports of evaluating members one by one", async () => {
  await h.init();
  const base = await data();
  let decoded = 0;
  const counting: RunData = {
    ...base,
    validation: async function* () {
      for await (const host of base.validation!()) {
        decoded++;
        yield host;
      }
    },
  };
  const run = await Run.start({ config: config(), data: counting });
  const reports = await run.evaluate();
  assertEquals(decoded, 2, "two batches, decoded once for both members");
  for (const member of run.members) {
    const alone = await evaluate(member.model, (async function* () {
      for await (const host of base.validation!()) {
        const batch = toTensors(host);
        try {
          yield batch;
        } finally {
          h.dispose(batch);
        }
      }
    })(), CLASSES);
    assertEquals(reports!.get(member.name), alone, member.name);
  }
  await run.close();
  run.dispose();
});
