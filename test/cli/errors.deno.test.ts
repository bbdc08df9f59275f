/**
 * Errors a user can act on: each is one line on stderr naming the file, record, flag or fix —
 * exit code 1, or 2 for a usage error — and no stack trace (that needs --debug).
 */
import { encodeSafetensors } from "../../src/io/safetensors.ts";
import { init } from "../../src/engine.ts";
import { createModel, type ModelConfig } from "../../src/models/mod.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { type Finished, harmonize } from "./cli_process.ts";

const TINY = ["--synthetic-records", "16", "--size", "16", "--batch-size", "8", "--classes", "3", "--workers", "0"];

function assertOneLine(result: Finished, code: number, pattern: RegExp): void {
  assertEquals(result.code, code, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, `one line on stderr:\n${result.stderr}`);
  assert(!/^\s+at /m.test(result.stderr), `no stack trace:\n${result.stderr}`);
  assert(pattern.test(lines[0]), `${lines[0]} should match ${pattern}`);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

test("cli errors: a bad flag is a usage error (exit 2)", async () => {
  assertOneLine(await harmonize("train", "--bogus", "1"), 2, /^harmonize train: unknown option --bogus \(harmonize train --help\)$/);
  assertOneLine(await harmonize("train", "--mode", "fast"), 2, /--mode must be one of both, harmonized, plain, got fast/);
  assertOneLine(await harmonize("shards", "frobnicate"), 2, /unknown subcommand 'frobnicate'/);
  assertOneLine(
    await harmonize("train", "--train", "http://127.0.0.1:9/train-{0..3}.tfrecords", "--classes", "3"),
    2,
    /the training shards include URLs, whose length is unknown before reading: give --steps N to size the schedule/,
  );
});

test("cli errors: every command and subcommand answers --help", async () => {
  for (const args of [["train"], ["parity"], ["shards"], ["shards", "verify"], ["shards", "synth"]]) {
    const result = await harmonize(...args, "--help");
    assertEquals(result.code, 0, `${args.join(" ")} --help: ${result.stderr}`);
    assert(/^usage: harmonize /.test(result.stdout), `${args.join(" ")} --help:\n${result.stdout}`);
  }
});

test("cli errors: a missing shard file and a corrupt shard name the file", async () => {
  await withDir(async (dir) => {
    assertOneLine(await harmonize("train", ...TINY, "--train", `${dir}/missing.tfrecords`, "--run", `${dir}/a`), 1, new RegExp(`${dir}/missing\\.tfrecords`));
    await Deno.writeFile(`${dir}/corrupt.tfrecords`, new Uint8Array(100).map((_, i) => (i * 37) & 255));
    assertOneLine(await harmonize("train", ...TINY, "--train", `${dir}/corrupt.tfrecords`, "--run", `${dir}/b`), 1, new RegExp(`${dir}/corrupt\\.tfrecords: record 0`));
  });
});

test("cli errors: a parameters-only state dict in harmonize parity names the missing buffers and the fix", async () => {
  await init();
  await withDir(async (dir) => {
    const config: ModelConfig = { arch: "resnet", block: "basic", layers: [1], widths: [4], classes: 2, stemKernel: 3, stemStride: 1, stemPool: false };
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(config));
    const model = createModel(config);
    const parameters = new Set(model.namedParameters().map(([name]) => name));
    const weights = new Map([...await model.hostStateDict()].filter(([name]) => parameters.has(name)));
    model.dispose();
    await Deno.writeFile(`${dir}/params.safetensors`, encodeSafetensors(weights));
    const result = await harmonize(
      "parity", "--model", `${dir}/model.json`, "--weights", `${dir}/params.safetensors`, "--batch", `${dir}/batch.safetensors`, "--out", `${dir}/out.safetensors`,
    );
    assertOneLine(result, 1, /params\.safetensors holds parameters only: \d+ BatchNorm buffers are missing \(e\.g\. bn1\.running_mean\); save model\.state_dict\(\)/);
  });
});

test("cli errors: a diverging run stops naming the member and loss part, before the update", async () => {
  await withDir(async (dir) => {
    const result = await harmonize("train", ...TINY, "--epochs", "3", "--mode", "plain", "--lr", "1e30", "--run", dir);
    assertOneLine(result, 1, /the plain model's (total loss|crossEntropy loss|gradient of \S+ \(squared norm\)) became (NaN|-?Infinity) at step \d+; its weights were not updated; (last good checkpoint: \S+|no checkpoint was written yet); lower --lr or --lambda-h, or add --clip NORM$/);
  });
});

test("cli errors: a batch that does not fit the memory budget is refused before training, with a batch size that fits", async () => {
  await withDir(async (dir) => {
    const result = await harmonize("train", ...TINY, "--batch-size", "4096", "--steps", "1", "--memory-budget", "0.05", "--run", dir);
    assertOneLine(result, 1, /a batch of 4096 needs about [\d.]+ [MG]iB .* but the memory budget is 51\.2 MiB: use --batch-size \d+ or less$/);
    assert(!(await Deno.stat(dir).then(() => true, () => false)) || (await Array.fromAsync(Deno.readDir(dir))).length === 0, "nothing written");
  });
});

test("cli errors: files that are missing or of the wrong kind are named first, with the flag, exit 1; a bad flag of a subcommand exits 2", async () => {
  await withDir(async (dir) => {
    assertOneLine(await harmonize("train", "--model", `${dir}/none.json`), 1, new RegExp(`^harmonize train: ${dir}/none\\.json: no such file or directory \\(--model\\)$`));
    assertOneLine(
      await harmonize("import", `${dir}/none.safetensors`, "--model", "resnet18", "--out", `${dir}/x.safetensors`),
      1,
      new RegExp(`^harmonize import: ${dir}/none\\.safetensors: no such file or directory$`),
    );
    assertOneLine(await harmonize("shards", "verify", `${dir}/none.tfrecords`), 1, new RegExp(`^harmonize shards: ${dir}/none\\.tfrecords: no such file or directory$`));
    await Deno.writeTextFile(`${dir}/file`, "");
    assertOneLine(await harmonize("shards", "verify", `${dir}/file`, "--layout", "pdf"), 2, /^harmonize shards: --layout must be clickme or images, got pdf/);
    assertOneLine(await harmonize("report", `${dir}/file`), 1, new RegExp(`^harmonize report: ${dir}/file: a file, not a run folder`));
  });
});
