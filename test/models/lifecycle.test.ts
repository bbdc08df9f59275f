// A model gives back all of its GPU memory: building, running (at another input size, which
// resamples the ViT's position embedding) and disposing a model N times leaves exactly the live
// bytes there were before the first one.
import { init, memory, randomNormal, tidy } from "../../src/mod.ts";
import { createModel, type ModelConfig } from "../../src/models/mod.ts";
import { assertEquals, test } from "../harness.ts";

await init();

const MODELS: [string, ModelConfig, number][] = [
  ["ViT", { arch: "vit", imageSize: 8, patchSize: 4, width: 16, depth: 1, heads: 2, mlpWidth: 32, classes: 3 }, 12],
  ["ResNet", { arch: "resnet", block: "basic", layers: [1, 1], widths: [4, 8], classes: 3, stemKernel: 3, stemStride: 1 }, 12],
];

for (const [name, config, inputSize] of MODELS) {
  test(`a tiny ${name} built, run and disposed 3 times leaves live GPU memory where it was before the first`, async () => {
    const baseline = memory().liveBytes;
    for (let i = 0; i < 3; i++) {
      const model = createModel(config);
      const logits = tidy(() => model.forward(randomNormal([2, 3, inputSize, inputSize], { seed: i })));
      await logits.data();
      logits.dispose();
      model.dispose();
      assertEquals(memory().liveBytes, baseline, `${name} #${i + 1}: live bytes after dispose`);
    }
  });
}
