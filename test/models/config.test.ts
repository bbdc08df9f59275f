// The JSON model-config schema shared by ResNet and ViT (docs/models.md#json-model-configs): createModel/modelFromJson.
import { init, randomNormal, tidy } from "../../src/mod.ts";
import { createModel, modelFromJson, ResNet, VisionTransformer } from "../../src/models/mod.ts";
import { assert, assertEquals, assertThrows, test } from "../harness.ts";

await init();

test("model configs build tiny ResNets and ViTs from JSON", () => {
  const net = modelFromJson(`{ "arch": "resnet", "block": "basic", "layers": [1, 1], "widths": [4, 8],
    "stemKernel": 3, "stemStride": 1, "stemPool": false, "classes": 3, "seed": 2 }`);
  assert(net instanceof ResNet);
  const vitModel = modelFromJson(`{ "arch": "vit", "imageSize": 8, "patchSize": 4, "width": 8, "depth": 1,
    "heads": 2, "classes": 3, "attention": "composed" }`);
  assert(vitModel instanceof VisionTransformer);
  for (const model of [net, vitModel]) {
    const y = tidy(() => model.forward(randomNormal([2, 3, 8, 8], { seed: 1 })));
    assertEquals(y.shape, [2, 3]);
    y.dispose();
    model.dispose();
  }
});

test("a preset with overrides: classes and seed change, the architecture stays", () => {
  const model = createModel({ arch: "vit", preset: "vit_tiny_patch16_224", classes: 10, depth: 1 });
  assert(model instanceof VisionTransformer);
  assertEquals(model.stateDict().get("head.weight")!.shape, [10, 192]);
  assertEquals(model.stateDict().get("pos_embed")!.shape, [1, 197, 192]);
  model.dispose();
  const res = createModel({ arch: "resnet", preset: "resnet18", classes: 7, widths: [2, 2, 2, 2] });
  assertEquals(res.stateDict().get("fc.weight")!.shape, [7, 2]);
  assertEquals(res.stateDict().get("layer4.1.conv2.weight")!.shape, [2, 2, 3, 3]);
  res.dispose();
});

test("model config errors name the source and the offending key", () => {
  assertThrows(() => modelFromJson("{", "tiny.json"), /^tiny\.json: not valid JSON/);
  assertThrows(() => modelFromJson(`{ "arch": "vgg" }`, "m.json"), /^m\.json: createModel: "arch" must be "resnet" or "vit", got "vgg"/);
  assertThrows(() => modelFromJson(`[1]`, "m.json"), /a model config must be a JSON object/);
  assertThrows(() => createModel({ arch: "resnet", preset: "resnet19" as "resnet18" }), /unknown resnet preset "resnet19" \(known: resnet18, resnet34, resnet50\)/);
  assertThrows(
    () => modelFromJson(`{ "arch": "vit", "imageSize": 8, "patchSize": 4, "width": 8, "depth": 1, "heads": 2, "classes": 3, "mlp_ratio": 4 }`),
    /ViT config: unknown keys mlp_ratio/,
  );
  assertThrows(() => modelFromJson(`{ "arch": "vit", "imageSize": 8, "patchSize": 4, "depth": 1, "heads": 2, "classes": 3 }`), /ViT config: width must be a positive integer, got undefined/);
  assertThrows(() => modelFromJson(`{ "arch": "resnet", "block": "basic", "classes": 3 }`), /ResNet config: layers must be a non-empty list/);
});
