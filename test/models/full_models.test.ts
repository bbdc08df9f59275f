// Full-size models built by name load a PyTorch-layout state dict and reproduce PyTorch's logits.
// Their weights (47–102 MB) are not fixtures: both sides generate them from the same integer hash
// (test/models/deterministic_weights.ts), and the fixture holds the input, the logits of a 32×32
// batch in eval mode and the state-dict names and shapes (test/golden/models_golden.py).
import { init, tidy } from "../../src/mod.ts";
import { createModel, type ModelConfig } from "../../src/models/mod.ts";
import { assertEquals, test } from "../harness.ts";
import { assertGolden, loadGolden } from "./golden.ts";
import { deterministicStateDict } from "./deterministic_weights.ts";

await init();

const MODELS: [string, ModelConfig][] = [
  ["resnet18", { arch: "resnet", preset: "resnet18" }],
  ["resnet50", { arch: "resnet", preset: "resnet50" }],
  ["vit_tiny_patch16_224", { arch: "vit", preset: "vit_tiny_patch16_224" }],
];

for (const [name, config] of MODELS) {
  test(`${name} built by name has the PyTorch state dict and reproduces PyTorch's logits`, async () => {
    const golden = await loadGolden("full_models_logits.safetensors");
    const layout = JSON.parse(golden.metadata[`${name}.state_dict`]) as [string, number[]][];
    const model = createModel(config).eval();
    assertEquals([...model.stateDict()].map(([key, t]) => [key, t.shape]), layout);
    model.loadStateDict(deterministicStateDict(layout));
    const x = golden.tensor("input.x");
    await assertGolden(tidy(() => model.forward(x)), golden.host(`expected.${name}`), `${name} logits`);
    x.dispose();
    model.dispose();
  });
}
