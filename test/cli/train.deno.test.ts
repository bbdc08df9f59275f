/** `harmonize train` end to end on the embedded dataset, writing a checkpoint that loads back. */
import { trainCommand } from "../../src/cli/train.ts";
import { readSafetensorsFile } from "../../src/io/safetensors.ts";
import { createModel } from "../../src/models/mod.ts";
import { UsageError } from "../../src/cli/command.ts";
import { assert, assertEquals, assertRejects, test } from "../harness.ts";

test("cli: harmonize train runs, evaluates and writes a loadable checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    const code = await trainCommand.run([
      "--epochs", "1", "--synthetic-records", "16", "--batch-size", "8", "--size", "16", "--classes", "3",
      "--workers", "0", "--out", `${dir}/model.safetensors`,
    ]);
    console.log = log;
    assertEquals(code, 0);
    assert(lines.filter((l) => /^epoch 0 step \d+ lr .* loss \d/.test(l)).length === 4, lines.join("\n"));
    assert(lines.some((l) => /^epoch 0 validation: accuracy .* alignment/.test(l)), lines.join("\n"));
    const { tensors, metadata } = await readSafetensorsFile(`${dir}/model.safetensors`);
    const model = createModel(JSON.parse(metadata.config));
    model.loadStateDict(tensors);
    model.dispose();
  } finally {
    console.log = log;
    await Deno.remove(dir, { recursive: true });
  }
});

test("cli: harmonize train refuses an unknown option and a bad mode", async () => {
  await assertRejects(() => trainCommand.run(["--epoch", "1"]), /unknown option --epoch/);
  const error = await assertRejects(() => trainCommand.run(["--mode", "fast"]), /--mode must be one of harmonized, plain, got fast/);
  assert(error instanceof UsageError, "a usage error");
});
