/**
 * `harmonize train` end to end, as a user runs it: a run folder with config, metrics and loadable
 * checkpoints; a schedule sized from real shard files; Ctrl-C saves a checkpoint and `--resume`
 * continues it to exactly the uninterrupted run; a diverging run stops with one line.
 */
import { main } from "../../src/cli/main.ts";
import { readSafetensorsFile } from "../../src/io/safetensors.ts";
import { createModel } from "../../src/models/mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { harmonize, interrupt, loggedLosses } from "./cli_process.ts";

const TINY = ["--synthetic-records", "16", "--size", "16", "--batch-size", "8", "--classes", "3", "--workers", "0"];

async function latest(runDir: string, member: string): Promise<string> {
  const { dir } = JSON.parse(await Deno.readTextFile(`${runDir}/checkpoints/${member}/latest`));
  return `${runDir}/checkpoints/${member}/${dir}`;
}

test("cli: harmonize train writes a run folder with config, metrics and loadable checkpoints", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const code = await main(["train", ...TINY, "--epochs", "1", "--run", dir, "--checkpoint-every", "1"]);
    assertEquals(code, 0);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    assertEquals(config.members, [{ name: "plain", mode: "plain" }, { name: "harmonized", mode: "harmonized" }]);
    assertEquals(config.totalSteps, 2);
    assert(typeof config.harmonizeVersion === "string" && config.adapter.description, "version and adapter recorded");
    const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines.filter((l) => l.type === "step").map((l) => `${l.member}@${l.step}`), ["plain@1", "harmonized@1", "plain@2", "harmonized@2"]);
    assertEquals(lines.filter((l) => l.type === "eval").map((l) => `${l.member}@${l.step}`), ["plain@2", "harmonized@2"]);
    for (const member of ["plain", "harmonized"]) {
      const checkpoint = await latest(dir, member);
      assert(checkpoint.endsWith("step-000002"), checkpoint);
      const { tensors, metadata } = await readSafetensorsFile(`${checkpoint}/model.safetensors`);
      assertEquals([metadata.member, metadata.mode, metadata.step], [member, member, "2"]);
      assert(tensors.has("bn1.running_mean") && tensors.has("bn1.num_batches_tracked"), "BatchNorm buffers saved");
      const model = createModel(JSON.parse(metadata.config));
      model.loadStateDict(tensors);
      model.dispose();
      const state = JSON.parse(await Deno.readTextFile(`${checkpoint}/state.json`));
      assertEquals([state.step, state.epoch, state.samplesInEpoch], [2, 0, 16]);
      const inspection = JSON.parse(await Deno.readTextFile(`${dir}/inspection/${member}.json`));
      assertEquals([inspection.member, inspection.step, inspection.confusion.length], [member, 2, 3]);
    }
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert(html.includes("plain") && html.includes("harmonized"), "report.html names both members");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("cli: harmonize train sizes its schedule from the records of shard files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await main(["shards", "synth", "--out", `${dir}/data`, "--size", "16", "--classes", "3", "--train-shards", "2", "--val-shards", "1", "--per-shard", "13"]), 0);
    const code = await main([
      "train", "--train", `${dir}/data/train-*.tfrecords`, "--val", `${dir}/data/val-0.tfrecords`, "--classes", "3", "--size", "16",
      "--batch-size", "8", "--epochs", "2", "--mode", "plain", "--workers", "0", "--run", `${dir}/run`,
    ]);
    assertEquals(code, 0);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/run/config.json`));
    assertEquals(config.data.records, 26, "2 shards of 13 records");
    assertEquals(config.totalSteps, 6, "2 epochs × floor(26 / 8)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("cli: Ctrl-C saves a checkpoint and --resume continues to exactly the uninterrupted run", async () => {
  const dir = await Deno.makeTempDir();
  const args = [...TINY, "--epochs", "3", "--seed", "4"];
  try {
    const stopped = await interrupt(/^step 3\/6 /m, "SIGINT", ["train", ...args, "--run", `${dir}/parts`]);
    assertEquals(stopped.code, 130, stopped.stderr);
    const said = /stopped at step (\d+) \(SIGINT\); checkpoint: (\S+), (\S+); continue with: harmonize train --resume/.exec(stopped.stdout);
    assert(said, stopped.stdout);
    const step = Number(said[1]);
    assert(step >= 3 && step < 6, `stopped at ${step}`);
    assertEquals(await latest(`${dir}/parts`, "harmonized"), `${dir}/parts/checkpoints/harmonized/step-${String(step).padStart(6, "0")}`);

    const resumed = await harmonize("train", "--resume", `${dir}/parts`);
    assertEquals(resumed.code, 0, resumed.stderr);
    assert(resumed.stdout.includes(`resuming ${dir}/parts from step ${step} of 6`), resumed.stdout);
    const whole = await harmonize("train", ...args, "--run", `${dir}/whole`);
    assertEquals(whole.code, 0, whole.stderr);

    assertEquals(await loggedLosses(`${dir}/parts`), await loggedLosses(`${dir}/whole`));
    for (const member of ["plain", "harmonized"]) {
      const [a, b] = [await latest(`${dir}/parts`, member), await latest(`${dir}/whole`, member)];
      for (const file of ["model.safetensors", "state.safetensors"]) {
        const [x, y] = [await Deno.readFile(`${a}/${file}`), await Deno.readFile(`${b}/${file}`)];
        assert(x.length === y.length && x.every((v, i) => v === y[i]), `${member} ${file} differs`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("cli: --skip-corrupt trains past a damaged record and logs it as a skip line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await main(["shards", "synth", "--out", dir, "--size", "16", "--classes", "3", "--train-shards", "1", "--val-shards", "1", "--per-shard", "12"]), 0);
    const shard = await Deno.readFile(`${dir}/train-0.tfrecords`);
    const middle = shard.length >> 1;
    shard[middle] ^= 0xff; // inside a record's data: its CRC no longer matches
    await Deno.writeFile(`${dir}/train-0.tfrecords`, shard);
    const code = await main([
      "train", "--train", `${dir}/train-0.tfrecords`, "--val", `${dir}/val-0.tfrecords`, "--size", "16", "--classes", "3",
      "--batch-size", "4", "--epochs", "1", "--mode", "plain", "--workers", "0", "--skip-corrupt", "--run", `${dir}/run`,
    ]);
    assertEquals(code, 0);
    const lines = (await Deno.readTextFile(`${dir}/run/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    const skips = lines.filter((l) => l.type === "skip");
    assertEquals(skips.length, 1, JSON.stringify(skips));
    assertEquals([skips[0].shard, skips[0].reason], [`${dir}/train-0.tfrecords`, "data CRC mismatch"]);
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/run/config.json`)).data.records, 11);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("cli: SIGTERM to npm's entry point (bin/harmonize.mjs) reaches the run, which checkpoints and exits 143", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const stopped = await interrupt(/^step 1\/4 /m, "SIGTERM", ["train", ...TINY, "--epochs", "2", "--mode", "plain", "--run", dir], "npm-bin");
    assertEquals(stopped.code, 143, stopped.stderr);
    const said = /stopped at step (\d+) \(SIGTERM\); checkpoint: (\S+); continue with: harmonize train --resume/.exec(stopped.stdout);
    assert(said, stopped.stdout);
    assertEquals(await latest(dir, "plain"), said[2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
