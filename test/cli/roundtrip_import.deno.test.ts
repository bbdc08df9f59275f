/**
 * PyTorch → Harmonize: state dicts saved by PyTorch (torchvision ResNet, timm-layout ViT; F32 with
 * int64 counters, F64, F16, BF16, parameters only) import with `harmonize import` and give
 * PyTorch's logits. Fixtures: test/golden/roundtrip_golden.py.
 */
import { dispose, init } from "../../src/engine.ts";
import { loadModelFile } from "../../src/cli/checkpoint_arg.ts";
import { readSafetensorsFile } from "../../src/io/safetensors.ts";
import { createModel } from "../../src/models/mod.ts";
import { loadPyTorchStateDict } from "../../src/models/pytorch_state_dict.ts";
import { randomNormal, randomUniform, tensor } from "../../src/ops/creation.ts";
import { Sgd } from "../../src/harmonize/optimizers.ts";
import { trainStep } from "../../src/harmonize/train_step.ts";
import { assert, assertEquals, assertThrows, maxRelativeError, test } from "../harness.ts";
import { type Arch, evalLogits, FIXTURES, harmonize, readIo } from "./roundtrip_fixtures.ts";

const CASES: [Arch, string, RegExp | null][] = [
  ["resnet_tiny", "f32", null],
  ["resnet_tiny", "f64", /: 62 F64 tensors converted to float32$/],
  ["resnet_tiny", "f16", /: 62 F16 tensors converted to float32$/],
  ["resnet_tiny", "bf16", /: 62 BF16 tensors converted to float32$/],
  ["resnet_tiny", "params", /: parameters only, 36 BatchNorm buffers absent \(bn1\.running_mean, bn1\.running_var, bn1\.num_batches_tracked, layer1\.0\.bn1\.running_mean and 32 more\); running statistics start at mean 0, variance 1/],
  ["vit_tiny", "f32", null],
  ["vit_tiny", "bf16", /BF16 tensors converted to float32$/],
];

for (const [arch, kind, note] of CASES) {
  test(`roundtrip: harmonize import of a PyTorch ${arch} state dict (${kind}) gives PyTorch's logits`, async () => {
    await init();
    const io = await readIo();
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/model.json`, io.metadata[`${arch}.config`]);
      const source = `${FIXTURES}${arch}.${kind}.safetensors`;
      const result = await harmonize("import", source, "--model", `${dir}/model.json`, "--out", `${dir}/model.safetensors`);
      assertEquals(result.code, 0, result.stderr.join("\n"));
      if (note) {
        assertEquals(result.stderr.length, 1, result.stderr.join("\n"));
        assert(result.stderr[0].startsWith(`note: ${source}: `) && note.test(result.stderr[0]), result.stderr[0]);
      } else assertEquals(result.stderr, []);
      const { model, notes } = await loadModelFile(`${dir}/model.safetensors`);
      try {
        assertEquals(notes, [], "the written file is complete");
        const error = maxRelativeError(await evalLogits(model, io), io.tensors.get(`expected.${arch}.${kind}`)!.data);
        assert(error < 1e-5, `logits differ from PyTorch's by ${error}`);
      } finally {
        model.dispose();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

test("roundtrip: a state dict of another architecture is one line naming the file and the tensors", async () => {
  const io = await readIo();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/model.json`, io.metadata["resnet_tiny.config"]);
    const source = `${FIXTURES}vit_tiny.f32.safetensors`;
    const result = await harmonize("import", source, "--model", `${dir}/model.json`, "--out", `${dir}/model.safetensors`);
    assertEquals(result.code, 1);
    assertEquals(result.stderr.length, 1);
    assert(
      result.stderr[0].startsWith(`harmonize import: ${source}: lacks 38 tensors the model needs (conv1.weight, bn1.weight, bn1.bias, layer1.0.conv1.weight and 34 more)`),
      result.stderr[0],
    );
    const usage = await harmonize("import", source, "--out", `${dir}/x.safetensors`);
    assertEquals([usage.code, usage.stderr.length], [2, 1]);
    assert(usage.stderr[0].includes("--model PRESET|CONFIG.json is required"), usage.stderr[0]);
    const missing = await harmonize("eval", `${dir}/nothing.safetensors`);
    assertEquals([missing.code, missing.stderr], [1, [`harmonize eval: ${dir}/nothing.safetensors: no such file or folder`]]);
    const noConfig = await harmonize("eval", source);
    assertEquals(noConfig.code, 1);
    assert(noConfig.stderr[0].includes(`${source}: no "config" metadata naming the model; for a PyTorch state dict use harmonize import --model`), noConfig.stderr[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("roundtrip: an imported parameters-only PyTorch state dict fine-tunes here (loss falls, BatchNorm statistics fill in)", async () => {
  await init();
  const io = await readIo();
  const source = `${FIXTURES}resnet_tiny.params.safetensors`;
  const model = createModel(JSON.parse(io.metadata["resnet_tiny.config"]));
  const optimizer = new Sgd(model.namedParameters(), { momentum: 0.9 });
  const batch = {
    images: randomNormal([4, 3, 16, 16], { seed: 1 }),
    heatmaps: randomUniform([4, 16, 16], { seed: 2 }),
    labels: tensor(Int32Array.of(0, 1, 2, 0), [4], "int32"),
    tokens: tensor(Float32Array.of(1, 1, 1, 1), [4]),
  };
  try {
    loadPyTorchStateDict(model, (await readSafetensorsFile(source)).tensors, source);
    const losses: number[] = [];
    for (let step = 0; step < 6; step++) {
      const result = trainStep(model, optimizer, batch, { mode: "harmonized", lr: 0.02, classes: 3 });
      losses.push(await result.parts.total.item());
      dispose(result);
    }
    assert(losses.every(Number.isFinite) && losses[5] < losses[0], `losses ${losses.join(", ")}`);
    const runningMean = await model.stateDict().get("bn1.running_mean")!.data();
    assert(runningMean.some((v) => v !== 0), "running statistics moved off their defaults");
  } finally {
    dispose(batch);
    optimizer.dispose();
    model.dispose();
  }
});

test("roundtrip: a DataParallel 'module.' prefix is dropped; an extra or a mistyped tensor is named", async () => {
  await init();
  const io = await readIo();
  const source = `${FIXTURES}resnet_tiny.f32.safetensors`;
  const tensors = (await readSafetensorsFile(source)).tensors;
  const model = createModel(JSON.parse(io.metadata["resnet_tiny.config"]));
  try {
    const wrapped = new Map([...tensors].map(([name, t]) => [`module.${name}`, t]));
    assertEquals(loadPyTorchStateDict(model, wrapped, "wrapped.safetensors").notes, []);
    const error = maxRelativeError(await evalLogits(model, io), io.tensors.get("expected.resnet_tiny.f32")!.data);
    assert(error < 1e-5, `logits differ from PyTorch's by ${error}`);
    const extra = new Map([...tensors, ["head.weight", { shape: [1], data: new Float32Array(1) }]]);
    assertThrows(() => loadPyTorchStateDict(model, extra, "extra.safetensors"), /^extra\.safetensors: holds 1 tensors the model does not have \(head\.weight\)/);
    const counter = tensors.get("bn1.num_batches_tracked")!;
    const mistyped = new Map([...tensors, ["bn1.num_batches_tracked", { shape: counter.shape, data: new Float32Array(1), stored: "F32" as const }]]);
    assertThrows(() => loadPyTorchStateDict(model, mistyped, "m.safetensors"), /m\.safetensors: tensor "bn1\.num_batches_tracked" is stored as F32, but the model keeps it as an integer/);
  } finally {
    model.dispose();
  }
});
