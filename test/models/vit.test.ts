// ViT against PyTorch float64 (fixtures from test/golden/models_golden.py): one block, a tiny ViT
// end to end with first- and second-order parameter gradients, position-embedding resampling.
import {
  dispose, grad, init, memory, mul, randomNormal, square, sub, sum, type Tensor, tidy, valueAndGrad,
} from "../../src/mod.ts";
import { Block, resolveVitConfig, vit, VIT_PRESETS, VisionTransformer } from "../../src/models/vit.ts";
import { resamplePositionEmbedding } from "../../src/models/pos_embed.ts";
import { SeedStream } from "../../src/nn/init.ts";
import { weightDecayGroups } from "../../src/nn/parameter_groups.ts";
import type { ParameterTree } from "../../src/nn/module.ts";
import { assert, assertEquals, assertThrows, test } from "../harness.ts";
import { assertGolden, assertGradients, loadGolden } from "./golden.ts";

await init();

const TINY = { imageSize: 8, patchSize: 4, width: 16, depth: 2, heads: 2, mlpWidth: 32, classes: 5 };

test("ViT block matches PyTorch: output, parameter and input gradients", async () => {
  const golden = await loadGolden("vit_block.safetensors");
  const block = new Block(resolveVitConfig({ ...TINY, depth: 1 }), new SeedStream(1));
  block.loadStateDict(golden.group("state"));
  const x = golden.tensor("input.x");
  const r = golden.tensor("input.r");
  const objective = (out: Tensor) => sum(mul(out, r));
  await assertGolden(tidy(() => block.forward(x)), golden.host("expected.out"), "block output");
  const grads = grad((p: Record<string, Tensor>) => objective(block.forward(p.x)))({ ...block.parameterTree(), x });
  const { x: gradX, ...paramGrads } = grads;
  await assertGradients(paramGrads, golden.group("grad"), "block ∂/∂θ");
  await assertGolden(gradX, golden.host("expected.grad_x"), "block ∂/∂x");
  dispose([grads, x, r]);
  block.dispose();
});

test("tiny ViT matches PyTorch end to end: logits, ∂/∂θ and the second-order ∂/∂θ Σ(∂/∂x)²", async () => {
  const golden = await loadGolden("vit_tiny.safetensors");
  const model = vit(TINY);
  model.loadStateDict(golden.group("state"));
  const x = golden.tensor("input.x");
  const r = golden.tensor("input.r");
  const scalar = (input: Tensor) => sum(mul(model.forward(input), r));
  const [logits, firstOrder] = tidy(() => {
    const [value, grads] = valueAndGrad((_: ParameterTree) => sum(mul(model.forward(x), r)))(model.parameterTree());
    value.dispose();
    return [model.forward(x), grads];
  });
  await assertGolden(logits, golden.host("expected.logits"), "logits");
  await assertGradients(firstOrder, golden.group("grad"), "∂(Σ logits·r)/∂θ");
  const secondOrder = grad((_: ParameterTree) => sum(square(grad(scalar)(x))))(model.parameterTree());
  await assertGradients(secondOrder, golden.group("grad2"), "∂/∂θ Σ(∂(Σ logits·r)/∂x)²");
  dispose([logits, firstOrder, secondOrder, x, r]);
  model.dispose();
});

test("tiny ViT on a larger input resamples pos_embed bicubically like timm", async () => {
  const golden = await loadGolden("vit_tiny.safetensors");
  const model = vit(TINY).eval();
  model.loadStateDict(golden.group("state"));
  const x = golden.tensor("input.x_large");
  await assertGolden(tidy(() => model.forward(x)), golden.host("expected.logits_large"), "12×12 logits");
  x.dispose();
  model.dispose();
});

test("position-embedding resampling equals torch's antialiased bicubic interpolate, up and down", async () => {
  const golden = await loadGolden("pos_embed_resample.safetensors");
  const pos = golden.tensor("input.pos_embed");
  await assertGolden(resamplePositionEmbedding(pos, [4, 4], [7, 5], 1), golden.host("expected.up"), "4×4 → 7×5");
  await assertGolden(resamplePositionEmbedding(pos, [4, 4], [3, 2], 1), golden.host("expected.down"), "4×4 → 3×2");
  pos.dispose();
});

test("a checkpoint for another grid is resampled on load; a non-square one is a clear error", async () => {
  const golden = await loadGolden("vit_tiny.safetensors");
  const state = golden.group("state");
  const model = vit({ ...TINY, imageSize: 12 }); // grid 3, checkpoint grid 2
  const buffers = memory().liveBuffers;
  model.loadStateDict(state);
  assertEquals(memory().liveBuffers, buffers, "loading frees the replaced values and the resampling's temporaries");
  assertEquals(model.pos_embed.shape, [1, 10, 16]);
  const expected = tidy(() => resamplePositionEmbedding(golden.tensor("state.pos_embed"), [2, 2], [3, 3], 1));
  await assertGolden(model.pos_embed.value, { shape: [1, 10, 16], data: await expected.floats() }, "pos_embed on load", 1e-6);
  const odd = new Map(state);
  odd.set("pos_embed", { shape: [1, 7, 16], data: new Float32Array(7 * 16) });
  assertThrows(() => model.loadStateDict(odd), /"pos_embed" \[1,7,16\] is not 1 \+ a square grid/);
  dispose(expected);
  model.dispose();
});

test("ViT parameter names follow timm, in state-dict order", () => {
  const model = vit({ ...TINY, depth: 1 });
  const names = [...model.stateDict().keys()];
  assertEquals(names, [
    "cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
    "blocks.0.norm1.weight", "blocks.0.norm1.bias", "blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias",
    "blocks.0.attn.proj.weight", "blocks.0.attn.proj.bias", "blocks.0.norm2.weight", "blocks.0.norm2.bias",
    "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc1.bias", "blocks.0.mlp.fc2.weight", "blocks.0.mlp.fc2.bias",
    "norm.weight", "norm.bias", "head.weight", "head.bias",
  ]);
  const decayed = weightDecayGroups(model).decay.map(([n]) => n);
  assert(!decayed.some((n) => /norm|cls_token|pos_embed|patch_embed/.test(n)), `decayed: ${decayed}`);
  assert(decayed.includes("head.bias") && decayed.includes("blocks.0.attn.qkv.weight"), `decayed: ${decayed}`);
  model.dispose();
});

test("ViT presets have timm's shapes (ViT-Ti/16: 5,717,416 parameters)", () => {
  const model = vit("vit_tiny_patch16_224");
  const count = model.namedParameters().reduce((n, [, p]) => n + p.value.size, 0);
  assertEquals(count, 5_717_416);
  assertEquals(model.pos_embed.shape, [1, 197, 192]);
  model.dispose();
  assertEquals(VIT_PRESETS.vit_base_patch16_224.width, 768);
  assertThrows(() => vit("vit_huge" as "vit_tiny_patch16_224"), /unknown preset "vit_huge"/);
  assertThrows(() => new VisionTransformer({ ...TINY, imageSize: 10 }), /imageSize 10 is not a multiple of patchSize 4/);
  assertThrows(() => vit({ ...TINY, heads: 3 }), /width 16 is not divisible by heads 3/);
});

test("a ViT training step frees everything it allocates", () => {
  const model = vit({ ...TINY, dropRate: 0.1 });
  const x = randomNormal([2, 3, 8, 8], { seed: 5 });
  const step = () =>
    tidy(() => {
      const [loss, grads] = valueAndGrad((_: ParameterTree) => sum(model.forward(x)))(model.parameterTree());
      for (const [name, p] of model.namedParameters()) p.assign(sub(p.value, mul(grads[name], 0.01)));
      return loss;
    });
  step().dispose(); // the first step fills the buffer pool and pipeline cache
  const before = memory().liveBytes;
  step().dispose();
  assertEquals(memory().liveBytes, before);
  x.dispose();
  model.dispose();
});
