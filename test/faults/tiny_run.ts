// A tiny run for the fault tests: a one-stage ResNet on 16×16 synthetic ClickMe shards, checkpointing every 2 steps.

import { bytesSource } from "../../src/data/source.ts";
import { synthShards } from "../../src/data/synthetic.ts";
import { loaderData, type MemberSpec, type RunConfig, type RunData } from "../../src/run/mod.ts";

const SIZE = 16;
const CLASSES = 3;

export async function tinyData(): Promise<RunData> {
  const shards = (await synthShards({ split: "train", size: SIZE, classes: CLASSES, shards: 2, recordsPerShard: 8, seed: 5 }))
    .map((s) => bytesSource(s.bytes, s.name));
  return loaderData({
    train: { datasets: [{ shards }], dropRemainder: true, shuffleBuffer: 8, workers: 0, preprocess: { size: SIZE, blurSize: SIZE } },
    seed: 9,
    records: 16,
  });
}

export function tinyConfig(members: MemberSpec[], totalSteps = 6): RunConfig {
  return {
    seed: 9,
    members,
    model: { arch: "resnet", block: "basic", layers: [1], widths: [8], classes: CLASSES, stemKernel: 3, stemStride: 1, seed: 9 },
    classes: CLASSES,
    imageSize: SIZE,
    batchSize: 4,
    optimizer: { name: "sgd", momentum: 0.9, weightDecay: 0 },
    schedule: { kind: "cosine", base: 0.01, warmupSteps: 0 },
    loss: { harmonization: 1, weightDecay: 1e-5 },
    totalSteps,
    evalEvery: 0,
    checkpointEvery: 2,
  };
}
