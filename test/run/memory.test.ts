/**
 * The memory check: a probe step measures the fixed and per-image bytes of a step, and a run that
 * needs more than the budget is refused before it allocates, with the largest batch that fits.
 */
import * as h from "../../src/mod.ts";
import { checkMemory, estimateMemory, type MemoryEstimate, MemoryError, requiredBytes, type RunConfig } from "../../src/run/mod.ts";
import { assert, assertEquals, assertThrows, test } from "../harness.ts";

const MiB = 2 ** 20;

function config(batchSize: number): RunConfig {
  return {
    seed: 0,
    members: [{ name: "plain", mode: "plain" }, { name: "harmonized", mode: "harmonized" }],
    model: { arch: "resnet", block: "basic", layers: [1], widths: [8], classes: 3, stemKernel: 3, stemStride: 1, stemPool: true },
    classes: 3,
    imageSize: 16,
    batchSize,
    optimizer: { name: "adamw" },
    schedule: { kind: "constant", base: 1e-3 },
    loss: { harmonization: 1, weightDecay: 1e-5 },
    totalSteps: 1,
    evalEvery: 0,
    checkpointEvery: 0,
  };
}

test("run memory: the largest batch that fits is suggested, and a batch that fits passes", () => {
  const estimate: MemoryEstimate = {
    modelBytes: 10 * MiB, optimizerBytes: 20 * MiB, step: { fixed: 40 * MiB, perImage: 3 * MiB }, largestBuffer: { fixed: MiB, perImage: 2 * MiB },
  };
  const roomy = { budgetBytes: 256 * MiB, bufferBytes: 1024 * MiB };
  assertEquals(requiredBytes(estimate, 2, 10), 2 * 30 * MiB + 40 * MiB + 30 * MiB);
  // 100 MiB for models and the fixed part, 3 MiB per image: 256 MiB holds 52 images.
  const error = assertThrows(() => checkMemory(config(64), estimate, roomy), /a batch of 64 needs about 292\.0 MiB \(2 model\(s\) 60\.0 MiB, 3\.0 MiB per image\) but the memory budget is 256\.0 MiB: use --batch-size 52 or less/);
  assert(error instanceof MemoryError, "a MemoryError");
  checkMemory(config(52), estimate, roomy);
  assertThrows(() => checkMemory(config(1), estimate, { ...roomy, budgetBytes: 100 * MiB }), /not even one image per batch fits/);
  // One buffer of 1 + 2·52 MiB exceeds a 64 MiB binding limit; 31 images (63 MiB) fit.
  assertThrows(
    () => checkMemory(config(52), estimate, { ...roomy, bufferBytes: 64 * MiB }),
    /a batch of 52 needs a single buffer of about 105\.0 MiB, more than the 64\.0 MiB this adapter binds at once \(maxStorageBufferBindingSize\): use --batch-size 31 or less/,
  );
});

test("run memory: a probe step measures a positive per-image need and frees what it allocated", async () => {
  await h.init();
  const before = h.memory().liveBytes;
  const estimate = estimateMemory(config(8));
  assertEquals(h.memory().liveBytes, before, "the probe frees its models and batches");
  assert(estimate.modelBytes > 0 && estimate.optimizerBytes > 0, JSON.stringify(estimate));
  assert(estimate.step.perImage > 16 * 16 * 3 * 4, `per image ${estimate.step.perImage} B is at least the image itself`);
  assert(estimate.largestBuffer.perImage > 0 && estimate.largestBuffer.fixed + 2 * estimate.largestBuffer.perImage <= estimate.step.fixed + 2 * estimate.step.perImage, JSON.stringify(estimate));
});

test("run memory: a ResNet whose last stage is 1×1 is probed (BatchNorm needs two values per channel)", async () => {
  await h.init();
  const estimate = estimateMemory({ ...config(8), imageSize: 2 });
  assert(estimate.step.perImage > 0, JSON.stringify(estimate));
});
