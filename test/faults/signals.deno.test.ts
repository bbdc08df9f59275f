// Faults during training, on `harmonize train` run as a separate process as a user runs it:
// kill -9 while a checkpoint is being written leaves the previous checkpoint complete, loadable
// and resumable; SIGTERM (what a scheduler sends) finishes the step, writes a final checkpoint and
// exits 143, and --resume continues from it; during an evaluation it stops between two batches;
// a second signal of either kind ends the process at once, keeping the last complete checkpoint.

import { readSafetensorsFile } from "../../src/io/safetensors.ts";
import { init } from "../../src/mod.ts";
import { createModel } from "../../src/models/mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { harmonize, interrupt, ROOT, signalInTurn } from "../cli/cli_process.ts";

const TINY = ["--synthetic-records", "16", "--size", "16", "--batch-size", "8", "--classes", "3", "--workers", "0"];
const MEMBERS = ["plain", "harmonized"];
// 384 embedded images: 192 of them for validation, three evaluation batches of 64, at steps 2 and 4.
const EVALUATED = [...TINY.slice(2), "--synthetic-records", "384", "--steps", "4", "--eval-every", "2"];

interface Pointer {
  dir: string;
  step: number;
}

async function readPointer(runDir: string, member: string): Promise<Pointer | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${runDir}/checkpoints/${member}/latest`));
  } catch {
    return null;
  }
}

/** The steps of metrics.jsonl's eval lines, in order. */
async function evaluatedSteps(runDir: string): Promise<number[]> {
  const lines = (await Deno.readTextFile(`${runDir}/metrics.jsonl`)).split("\n").filter(Boolean).map((l) => JSON.parse(l));
  return lines.filter((e) => e.type === "eval").map((e) => e.step);
}

/** The checkpoint `latest` names loads: weights with the pointer's step, optimizer state, position. */
async function assertLoadable(runDir: string, member: string): Promise<Pointer> {
  const pointer = await readPointer(runDir, member);
  assert(pointer, `${member}: latest survives`);
  const checkpoint = `${runDir}/checkpoints/${member}/${pointer.dir}`;
  const { tensors, metadata } = await readSafetensorsFile(`${checkpoint}/model.safetensors`);
  assertEquals(metadata.step, String(pointer.step));
  const model = createModel(JSON.parse(metadata.config));
  model.loadStateDict(tensors);
  model.dispose();
  await readSafetensorsFile(`${checkpoint}/state.safetensors`);
  assertEquals(JSON.parse(await Deno.readTextFile(`${checkpoint}/state.json`)).step, pointer.step);
  return pointer;
}

/** Step folders of a member that `latest` does not cover yet: a checkpoint being written. */
async function inProgress(runDir: string, member: string, pointer: Pointer | null): Promise<string | null> {
  if (!pointer) return null;
  try {
    for await (const entry of Deno.readDir(`${runDir}/checkpoints/${member}`)) {
      const step = /^step-(\d+)$/.exec(entry.name);
      if (step && Number(step[1]) > pointer.step) return entry.name;
    }
  } catch {
    // the folder is not there yet
  }
  return null;
}

/** Starts a run and kills it with SIGKILL as soon as a checkpoint after the first is half written. */
async function killMidCheckpoint(runDir: string): Promise<{ caught: string | null; before: Pointer | null }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/main.ts", "train", ...TINY, "--epochs", "6", "--checkpoint-every", "1", "--run", runDir],
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
  }).spawn();
  let caught: string | null = null;
  let before: Pointer | null = null;
  let finished = false;
  child.status.then(() => finished = true);
  // Bounded: the run itself ends after 12 steps, and then the loop does too.
  while (!finished) {
    before = await readPointer(runDir, "harmonized");
    caught = await inProgress(runDir, "harmonized", before);
    if (caught) {
      child.kill("SIGKILL");
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await child.status;
  return { caught, before };
}

test("faults: kill -9 while a checkpoint is being written leaves the previous one loadable, and --resume continues", async () => {
  await init();
  const dir = await Deno.makeTempDir();
  try {
    // A loaded machine may finish a checkpoint between two looks; a few runs catch one mid-write.
    let outcome = { caught: null as string | null, before: null as Pointer | null };
    let attempt = 0;
    for (; attempt < 4 && !outcome.caught; attempt++) {
      await Deno.remove(`${dir}/run`, { recursive: true }).catch(() => {});
      outcome = await killMidCheckpoint(`${dir}/run`);
    }
    assert(outcome.caught, `no checkpoint caught mid-write in ${attempt} runs`);
    // latest names the checkpoint before the half-written one, or that one if it was completed in
    // the instant before the kill: either way every file below must be whole.
    for (const member of MEMBERS) await assertLoadable(`${dir}/run`, member);
    const resumed = await harmonize("train", "--resume", `${dir}/run`);
    assertEquals(resumed.code, 0, resumed.stderr);
    assert(/resuming .* from step \d+ of 12/.test(resumed.stdout), resumed.stdout);
    for (const member of MEMBERS) assertEquals((await readPointer(`${dir}/run`, member))?.step, 12);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("faults: SIGTERM finishes the step, writes a final checkpoint, exits 143, and --resume continues from it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const stopped = await interrupt(/^step 2\/6 /m, "SIGTERM", ["train", ...TINY, "--epochs", "3", "--run", `${dir}/run`]);
    assertEquals(stopped.code, 143, stopped.stderr);
    const said = /stopped at step (\d+) \(SIGTERM\); checkpoint: /.exec(stopped.stdout);
    assert(said, stopped.stdout);
    const step = Number(said[1]);
    for (const member of MEMBERS) assertEquals((await readPointer(`${dir}/run`, member))?.step, step);
    const resumed = await harmonize("train", "--resume", `${dir}/run`);
    assertEquals(resumed.code, 0, resumed.stderr);
    assert(resumed.stdout.includes(`from step ${step} of 6`), resumed.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("faults: SIGTERM during an evaluation stops it between batches: nothing logged for it, a checkpoint of the step, exit 143; --resume redoes it", async () => {
  await init();
  const dir = await Deno.makeTempDir();
  try {
    const stopped = await interrupt(/^step 2: evaluating/m, "SIGTERM", ["train", ...EVALUATED, "--run", `${dir}/run`]);
    assertEquals(stopped.code, 143, stopped.stderr);
    assert(/stopped at step 2 \(SIGTERM\); checkpoint: /.test(stopped.stdout), stopped.stdout);
    assert(!/step 2 \w+ validation:/.test(stopped.stdout), `the cut evaluation reports nothing:\n${stopped.stdout}`);
    assertEquals(await evaluatedSteps(`${dir}/run`), []);
    for (const member of MEMBERS) assertEquals((await assertLoadable(`${dir}/run`, member)).step, 2);
    const resumed = await harmonize("train", "--resume", `${dir}/run`);
    assertEquals(resumed.code, 0, resumed.stderr);
    assert(resumed.stdout.includes("from step 2 of 4"), resumed.stdout);
    assertEquals(await evaluatedSteps(`${dir}/run`), [2, 2, 4, 4]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const [first, second] of [["SIGINT", "SIGTERM"], ["SIGTERM", "SIGINT"]] as const) {
  test(`faults: ${second} after ${first} ends the process at once with ${second === "SIGTERM" ? 143 : 130}; the last complete checkpoint loads and resumes`, async () => {
    await init();
    const dir = await Deno.makeTempDir();
    try {
      // The second signal goes out as soon as the first is acknowledged; a loaded machine may finish
      // the stop (an evaluation batch, a checkpoint, the report) before it lands: then try again.
      let outcome: Awaited<ReturnType<typeof signalInTurn>> | null = null;
      for (let attempt = 0; attempt < 3 && outcome?.killedBy !== second; attempt++) {
        await Deno.remove(`${dir}/run`, { recursive: true }).catch(() => {});
        outcome = await signalInTurn(
          [[/^step 2: evaluating/m, first], [new RegExp(`^${first}: stopping`, "m"), second]],
          ["train", ...EVALUATED, "--checkpoint-every", "1", "--run", `${dir}/run`],
        );
      }
      assertEquals(outcome!.killedBy, second, `${outcome!.sent} signals sent; stdout:\n${outcome!.stdout}`);
      assertEquals(outcome!.code, second === "SIGTERM" ? 143 : 130);
      assert(!outcome!.stdout.includes("stopped at step"), outcome!.stdout);
      for (const member of MEMBERS) assert((await assertLoadable(`${dir}/run`, member)).step >= 1, "a checkpoint of step 1 or 2");
      const resumed = await harmonize("train", "--resume", `${dir}/run`);
      assertEquals(resumed.code, 0, resumed.stderr);
      assert(/resuming .* from step [12] of 4/.test(resumed.stdout), resumed.stdout);
      assertEquals(await evaluatedSteps(`${dir}/run`), [2, 2, 4, 4]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

test("faults: a SIGTERM sent to the whole process group (npm wrapper and Deno both get it) stops gracefully with a checkpoint, exit 143", async () => {
  await init();
  const dir = await Deno.makeTempDir();
  try {
    const outcome = await signalInTurn(
      [[/^step 2: evaluating/m, "SIGTERM"]],
      ["train", ...EVALUATED, "--checkpoint-every", "1", "--run", `${dir}/run`],
      "npm-bin-group",
    );
    assertEquals([outcome.sent, outcome.code, outcome.killedBy], [1, 143, null], `stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`);
    assert(outcome.stdout.includes("stopped at step 2 (SIGTERM)"), outcome.stdout);
    for (const member of MEMBERS) assertEquals((await assertLoadable(`${dir}/run`, member)).step, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("faults: a copy of the same signal within a second is ignored: the run still stops gracefully with a checkpoint, exit 143", async () => {
  await init();
  const dir = await Deno.makeTempDir();
  try {
    // The copy goes out as soon as the first SIGTERM is acknowledged, as a group's second copy (via
    // the npm wrapper) may arrive after Deno has handled the first.
    const outcome = await signalInTurn(
      [[/^step 2: evaluating/m, "SIGTERM"], [/^SIGTERM: stopping/m, "SIGTERM"]],
      ["train", ...EVALUATED, "--checkpoint-every", "1", "--run", `${dir}/run`],
    );
    assertEquals([outcome.sent, outcome.code, outcome.killedBy], [2, 143, null], `stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`);
    assert(outcome.stdout.includes("stopped at step 2 (SIGTERM)"), outcome.stdout);
    for (const member of MEMBERS) assertEquals((await assertLoadable(`${dir}/run`, member)).step, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
