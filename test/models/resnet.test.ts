// ResNet against PyTorch float64 (fixtures from test/golden/models_golden.py): a BasicBlock in
// training mode, a tiny ResNet end to end in train and eval mode with first- and second-order
// parameter gradients, and torchvision's names and shapes.
import { dispose, grad, init, memory, mul, randomNormal, square, sub, sum, type Tensor, tidy, valueAndGrad } from "../../src/mod.ts";
import { BasicBlock, resnet, ResNet } from "../../src/models/resnet.ts";
import { SeedStream } from "../../src/nn/init.ts";
import { weightDecayGroups } from "../../src/nn/parameter_groups.ts";
import type { Module, ParameterTree } from "../../src/nn/module.ts";
import { assert, assertEquals, assertThrows, test } from "../harness.ts";
import { assertGolden, assertGradients, type Golden, loadGolden } from "./golden.ts";

await init();

/** The config of the fixture's tiny ResNet: one line. */
const TINY = { block: "basic", layers: [1, 1], widths: [4, 8], stemKernel: 3, stemStride: 1, classes: 5 } as const;

/** The running statistics and counters after the forward, against the fixture's `expected.*`. */
async function assertRunningStats(model: Module, golden: Golden): Promise<void> {
  const expected = golden.group("expected");
  let checked = 0;
  for (const [name, buffer] of model.namedBuffers()) {
    const e = expected.get(name)!;
    if (name.endsWith("num_batches_tracked")) assertEquals([...await buffer.value.data()], [...e.data], name);
    else await assertGolden(buffer.value, e, name);
    checked++;
  }
  assert(checked > 0, "no buffers compared");
}

test("ResNet BasicBlock with downsample matches PyTorch in training mode, running stats included", async () => {
  const golden = await loadGolden("resnet_basic_block.safetensors");
  const block = new BasicBlock(4, 8, 2, new SeedStream(0));
  block.loadStateDict(golden.group("state"));
  const x = golden.tensor("input.x");
  const r = golden.tensor("input.r");
  const grads = tidy(() => {
    const [out, g] = valueAndGrad((_: ParameterTree) => sum(mul(block.forward(x), r)))(block.parameterTree());
    out.dispose();
    return g;
  });
  await assertGradients(grads, golden.group("grad"), "block ∂/∂θ");
  await assertRunningStats(block, golden);
  block.loadStateDict(golden.group("state"));
  await assertGolden(tidy(() => block.forward(x)), golden.host("expected.out"), "block output");
  dispose([grads, x, r]);
  block.dispose();
});

test("tiny ResNet matches PyTorch in eval mode and in train mode (batch statistics), first and second order", async () => {
  const golden = await loadGolden("resnet_tiny.safetensors");
  const model = resnet(TINY);
  model.loadStateDict(golden.group("state"));
  const x = golden.tensor("input.x");
  const r = golden.tensor("input.r");
  model.eval();
  await assertGolden(tidy(() => model.forward(x)), golden.host("expected.logits_eval"), "eval logits");
  model.train();
  const logits = tidy(() => model.forward(x));
  await assertGolden(logits, golden.host("expected.logits_train"), "train logits");
  await assertRunningStats(model, golden);
  model.loadStateDict(golden.group("state"));
  const scalar = (input: Tensor) => sum(mul(model.forward(input), r));
  const firstOrder = grad((_: ParameterTree) => scalar(x))(model.parameterTree());
  await assertGradients(firstOrder, golden.group("grad"), "∂(Σ logits·r)/∂θ");
  const saliency = grad(scalar)(x);
  await assertGolden(saliency, golden.host("expected.saliency"), "∂(Σ logits·r)/∂x");
  const secondOrder = grad((_: ParameterTree) => sum(square(grad(scalar)(x))))(model.parameterTree());
  await assertGradients(secondOrder, golden.group("grad2"), "∂/∂θ Σ(∂(Σ logits·r)/∂x)²");
  dispose([logits, firstOrder, saliency, secondOrder, x, r]);
  model.dispose();
});

test("ResNet names follow torchvision, in state-dict order, with BN buffers", () => {
  const model = resnet(TINY);
  const names = [...model.stateDict().keys()];
  const bn = (p: string) => [`${p}.weight`, `${p}.bias`, `${p}.running_mean`, `${p}.running_var`, `${p}.num_batches_tracked`];
  assertEquals(names, [
    "conv1.weight", ...bn("bn1"),
    "layer1.0.conv1.weight", ...bn("layer1.0.bn1"), "layer1.0.conv2.weight", ...bn("layer1.0.bn2"),
    "layer2.0.conv1.weight", ...bn("layer2.0.bn1"), "layer2.0.conv2.weight", ...bn("layer2.0.bn2"),
    "layer2.0.downsample.0.weight", ...bn("layer2.0.downsample.1"),
    "fc.weight", "fc.bias",
  ]);
  const decayed = weightDecayGroups(model).decay.map(([n]) => n);
  assertEquals(decayed, ["conv1.weight", "layer1.0.conv1.weight", "layer1.0.conv2.weight", "layer2.0.conv1.weight",
    "layer2.0.conv2.weight", "layer2.0.downsample.0.weight", "fc.weight", "fc.bias"]);
  model.dispose();
});

test("ResNet configs: one-line tiny models, presets, and errors naming the key", () => {
  const features = resnet({ block: "bottleneck", layers: [1], widths: [2], stemPool: false, classes: 0 });
  assertEquals(features.featureWidth, 8);
  const y = tidy(() => features.forward(randomNormal([2, 3, 8, 8], { seed: 1 })));
  assertEquals(y.shape, [2, 8]);
  dispose(y);
  features.dispose();
  assertThrows(() => resnet({ ...TINY, layers: [1, 1, 1] }), /widths \[4,8\] must give one width per stage of layers \[1,1,1\]/);
  assertThrows(() => resnet({ ...TINY, block: "wide" as "basic" }), /block must be "basic" or "bottleneck", got "wide"/);
  assertThrows(() => new ResNet({ ...TINY, stemKernal: 3 } as unknown as ResNet["config"]), /unknown keys stemKernal/);
  assertThrows(() => resnet("resnet101" as "resnet18"), /unknown preset "resnet101"/);
});

test("a ResNet training step (train mode) frees everything it allocates", () => {
  const model = resnet(TINY);
  const x = randomNormal([2, 3, 8, 8], { seed: 3 });
  const step = () =>
    tidy(() => {
      const [loss, grads] = valueAndGrad((_: ParameterTree) => sum(model.forward(x)))(model.parameterTree());
      for (const [name, p] of model.namedParameters()) p.assign(sub(p.value, mul(grads[name], 0.01)));
      return loss;
    });
  step().dispose();
  const before = memory().liveBytes;
  step().dispose();
  assertEquals(memory().liveBytes, before);
  x.dispose();
  model.dispose();
});
