/**
 * The fused ReLUs (src/ops/fused_relu.ts) leave the harmonizer loss where it was: logits, saliency,
 * every loss part and every gradient of a tiny ResNet (basic blocks from the PyTorch parity fixture,
 * and bottleneck blocks on a seeded batch) agree within 1e-5 relative error with the ReLU run
 * separately, and so do the logits in evaluation mode (batchNormEvalRelu).
 */
import * as h from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import type { ReluFusionVariant } from "../../src/backend/kernel_policy.ts";
import { decodeSafetensors, type HostTensor } from "../../src/io/safetensors.ts";
import { createModel, type Model, type ModelConfig } from "../../src/models/mod.ts";
import { parity, uploadBatch } from "../../src/harmonize/parity.ts";
import type { Batch } from "../../src/data/batch.ts";
import { assert, assertEquals, maxRelativeError, readRepoFile, test } from "../harness.ts";

const TOLERANCE = 1e-5;

async function withReluFusion<T>(variant: ReluFusionVariant, run: () => Promise<T>): Promise<T> {
  const previous = engine.backend.kernels.variants.reluFusion;
  engine.backend.setKernelVariant("reluFusion", variant);
  try {
    return await run();
  } finally {
    engine.backend.setKernelVariant("reluFusion", previous);
  }
}

const FUSED = ["batchNormTrainRelu", "batchNormEvalRelu", "addRelu"];

/**
 * Every output of `parity` and the evaluation-mode logits, with a fresh model from `makeModel`; and
 * which fused primitives ran.
 */
async function outputs(makeModel: () => Model, batch: Batch, classes: number): Promise<{ values: Map<string, HostTensor>; ran: string[] }> {
  const model = makeModel();
  const ran = new Set<string>();
  engine.recorders.push({ maybeRecord: ({ primitive }) => void (FUSED.includes(primitive) && ran.add(primitive)) });
  try {
    const result = await parity(model, batch, { classes });
    model.eval();
    const logits = h.tidy(() => model.forward(batch.images));
    result.set("eval.logits", { data: await logits.data(), shape: [...logits.shape] });
    logits.dispose();
    return { values: result, ran: [...ran].sort() };
  } finally {
    engine.recorders.pop();
    model.dispose();
  }
}

async function compareVariants(makeModel: () => Model, batch: Batch, classes: number): Promise<void> {
  const { values: separate, ran: ranSeparate } = await withReluFusion("separate", () => outputs(makeModel, batch, classes));
  const { values: fused, ran: ranFused } = await withReluFusion("fused", () => outputs(makeModel, batch, classes));
  assertEquals(ranSeparate, []);
  assertEquals(ranFused, [...FUSED].sort());
  const failures: string[] = [];
  for (const [key, expected] of separate) {
    const actual = fused.get(key);
    const error = actual ? maxRelativeError(actual.data, expected.data) : Infinity;
    if (!(error <= TOLERANCE)) failures.push(`${key}: relative error ${error.toExponential(2)}`);
  }
  assert(fused.size === separate.size, `fused gave ${fused.size} outputs, separate ${separate.size}`);
  assert(separate.size > 20, `compared ${separate.size} outputs`);
  assert(failures.length === 0, failures.join("; "));
}

test("fused ReLUs keep the harmonizer loss and its gradients within 1e-5: basic blocks (parity fixture)", async () => {
  await h.init();
  const path = "test/fixtures/parity/resnet_tiny_tokens10.safetensors";
  const { tensors, metadata } = decodeSafetensors(await readRepoFile(path), path);
  const config = JSON.parse(metadata.config) as ModelConfig;
  const pick = (prefix: string) => new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const batch = uploadBatch(pick("batch."), path);
  try {
    await compareVariants(() => {
      const model = createModel(config);
      model.loadStateDict(pick("state."));
      return model;
    }, batch, (config as { classes: number }).classes);
  } finally {
    h.dispose(batch);
  }
});

test("fused ReLUs keep the harmonizer loss and its gradients within 1e-5: bottleneck blocks", async () => {
  await h.init();
  const classes = 4;
  const batch: Batch = {
    images: h.randomNormal([2, 3, 8, 8], { seed: 3 }),
    heatmaps: h.randomUniform([2, 8, 8], { seed: 4 }),
    labels: h.tensor(Int32Array.of(1, 3), [2], "int32"),
    tokens: h.tensor(Float32Array.of(1, 1), [2]),
  };
  try {
    const config = { arch: "resnet", block: "bottleneck", layers: [1], widths: [2], classes, stemKernel: 3, stemStride: 1, seed: 5 } as const;
    await compareVariants(() => createModel(config), batch, classes);
  } finally {
    h.dispose(batch);
  }
});
