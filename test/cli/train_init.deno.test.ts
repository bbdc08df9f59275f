/**
 * `harmonize train --init FILE`: fine-tuning from a PyTorch state dict (the round-trip fixtures).
 * At learning rate 0 the weights never move, so the first checkpoint holds the file's parameters
 * exactly when, and only when, every member started from them.
 */
import { type HostTensor, readSafetensorsFile } from "../../src/io/safetensors.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { FIXTURES, harmonize, readIo } from "./roundtrip_fixtures.ts";

const TINY = ["--synthetic-records", "16", "--size", "32", "--batch-size", "8", "--classes", "3", "--workers", "0", "--steps", "1", "--lr", "0"];
const BATCH_NORM_BUFFERS = /\.(running_mean|running_var|num_batches_tracked)$/;

async function checkpointOf(runDir: string, member: string): Promise<string> {
  const { dir } = JSON.parse(await Deno.readTextFile(`${runDir}/checkpoints/${member}/latest`));
  return `${runDir}/checkpoints/${member}/${dir}/model.safetensors`;
}

/** The parameters in a checkpoint's model file are exactly `expected`'s (BatchNorm statistics move in training mode). */
async function assertParameters(file: string, expected: Map<string, HostTensor>): Promise<void> {
  let compared = 0;
  for (const [name, t] of (await readSafetensorsFile(file)).tensors) {
    if (BATCH_NORM_BUFFERS.test(name)) continue;
    assertEquals([...t.data], [...Float32Array.from(expected.get(name)!.data)], `${file}: ${name}`);
    compared++;
  }
  assertEquals(compared, 38, `${file}: parameters compared`);
}

test("cli: harmonize train --init starts every member from a PyTorch state dict's weights and records the file", async () => {
  const io = await readIo();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/model.json`, io.metadata["resnet_tiny.config"]);
    const source = `${FIXTURES}resnet_tiny.f64.safetensors`;
    const result = await harmonize("train", ...TINY, "--model", `${dir}/model.json`, "--init", source, "--run", `${dir}/run`);
    assertEquals(result.code, 0, result.stderr.join("\n"));
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/run/config.json`)).init, source);
    const expected = (await readSafetensorsFile(source)).tensors;
    for (const member of ["plain", "harmonized"]) await assertParameters(await checkpointOf(`${dir}/run`, member), expected);
    assertEquals(result.stderr, [`note: ${source}: 62 F64 tensors converted to float32`]);

    // One of our own model files names its model: no --model needed.
    const own = await checkpointOf(`${dir}/run`, "plain");
    const again = await harmonize("train", ...TINY, "--mode", "plain", "--init", own, "--run", `${dir}/again`);
    assertEquals([again.code, again.stderr], [0, []]);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/again/config.json`));
    assertEquals([config.init, config.model], [own, JSON.parse(io.metadata["resnet_tiny.config"])]);
    await assertParameters(await checkpointOf(`${dir}/again`, "plain"), expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("cli: harmonize train --init notes a parameters-only file; a wrong file is one line naming it; --resume excludes it", async () => {
  const io = await readIo();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/model.json`, io.metadata["resnet_tiny.config"]);
    const params = `${FIXTURES}resnet_tiny.params.safetensors`;
    const ok = await harmonize("train", ...TINY, "--mode", "plain", "--model", `${dir}/model.json`, "--init", params, "--run", `${dir}/run`);
    assertEquals(ok.code, 0, ok.stderr.join("\n"));
    assertEquals(ok.stderr.length, 1, ok.stderr.join("\n"));
    assert(ok.stderr[0].startsWith(`note: ${params}: parameters only, 36 BatchNorm buffers absent`), ok.stderr[0]);

    const vit = `${FIXTURES}vit_tiny.f32.safetensors`;
    const wrong = await harmonize("train", ...TINY, "--mode", "plain", "--model", `${dir}/model.json`, "--init", vit, "--run", `${dir}/wrong`);
    assertEquals(wrong.code, 1);
    assertEquals(wrong.stderr.length, 1, wrong.stderr.join("\n"));
    assert(wrong.stderr[0].startsWith(`harmonize train: ${vit}: lacks 38 tensors the model needs`), wrong.stderr[0]);
    const noConfig = await harmonize("train", ...TINY, "--mode", "plain", "--init", vit, "--run", `${dir}/wrong`);
    assertEquals(noConfig.code, 1);
    assert(noConfig.stderr[0].includes(`${vit}: no "config" metadata naming the model; give --model`), noConfig.stderr[0]);
    const missing = await harmonize("train", ...TINY, "--init", `${dir}/nothing.safetensors`, "--run", `${dir}/wrong`);
    assertEquals([missing.code, missing.stderr], [1, [`harmonize train: ${dir}/nothing.safetensors: not found (--init)`]]);
    assert(await Deno.stat(`${dir}/wrong`).then(() => false, () => true), "a failed --init leaves no run folder");

    const resumed = await harmonize("train", "--resume", `${dir}/run`, "--init", params);
    assertEquals(resumed.code, 2);
    assert(resumed.stderr[0].includes("--init starts a new run from a file's weights, --resume continues a run"), resumed.stderr[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
