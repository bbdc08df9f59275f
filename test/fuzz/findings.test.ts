// Regression tests for what the fuzzers found in the model-config and flag parsers (the data and
// safetensors findings have theirs beside the parsers' own tests, in test/data and test/io).

import { assert, assertEquals, assertThrows, test } from "../harness.ts";
import { intFlag, numberFlag, parseArgs } from "../../src/cli/command.ts";
import { checkModelConfig, createModel, MAX_MODEL_PARAMETERS, type ModelConfig, parseModelConfig } from "../../src/models/mod.ts";
import { init } from "../../src/mod.ts";

await init();

test("fuzz findings: model configs refuse prototype names, unsafe integers and sizes past the limits before allocating", () => {
  // Before: "toString" passed the `in` checks as a block and as a preset.
  assertThrows(() => parseModelConfig(`{"arch":"resnet","block":"toString","layers":[1],"classes":2}`, "m.json"), /^m\.json: ResNet config: block must be "basic" or "bottleneck", got "toString"/);
  assertThrows(() => parseModelConfig(`{"arch":"vit","preset":"__proto__"}`, "m.json"), /^m\.json: createModel: unknown vit preset "__proto__"/);
  // Before: 2^53 passed Number.isInteger as a stride.
  assertThrows(() => parseModelConfig(`{"arch":"resnet","preset":"resnet18","stemStride":9007199254740992}`, "m.json"), /stemStride must be a positive integer, got 9007199254740992/);
  // Before: these built (or tried to build) the model: 3.6·10^13 parameters, 10^6 blocks.
  assertThrows(() => parseModelConfig(`{"arch":"resnet","preset":"resnet18","widths":[1000000,1,1,1]}`, "m.json"), /asks for 3\.600e\+13 parameters, over the limit of 1073741824/);
  assertThrows(() => parseModelConfig(`{"arch":"vit","preset":"vit_tiny_patch16_224","depth":1000000}`, "m.json"), /1000000 blocks, over the limit of 1024/);
  assertThrows(() => parseModelConfig(`{"arch":"vit","preset":"vit_tiny_patch16_224","imageSize":1600000}`, "m.json"), /parameters, over the limit/);
  // Before: a 100 000-deep value was echoed whole (or overflowed the printer).
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  const error = assertThrows(() => parseModelConfig(`{"arch":"resnet","block":"basic","layers":${deep},"classes":2}`, "m.json"), /layers must be a non-empty list of integers ≥ 1, got \[\[\[/);
  assert(error.message.length < 200, `${error.message.length} characters`);
  assertThrows(() => parseModelConfig(`{"arch":"vit","preset":"vit_tiny_patch16_224","dropRate":1.5}`, "m.json"), /dropRate must be a number in \[0, 1\), got 1\.5/);
  assertThrows(() => parseModelConfig(`{"arch":"vit","a\\nb":1}`, "m.json"), /unknown keys a\\nb \(known/);
  // Found by bench/fuzz: V8 quotes the broken text in its message, newlines included.
  const broken = assertThrows(() => parseModelConfig(`{"arch":\nx\n}`, "m.json"), /^m\.json: not valid JSON \(Unexpected token/);
  assertEquals(broken.message.includes("\n"), false);
  assert(checkModelConfig({ arch: "vit", preset: "vit_base_patch16_224" }).parameters < MAX_MODEL_PARAMETERS);
});

test("fuzz findings: the parameter count that the size limit uses is the built model's", () => {
  const configs: ModelConfig[] = [
    { arch: "resnet", block: "basic", layers: [1, 2], widths: [4, 8], stemKernel: 3, stemStride: 1, classes: 5 },
    { arch: "resnet", block: "bottleneck", layers: [1, 1], widths: [2, 4], classes: 0 },
    { arch: "vit", imageSize: 16, patchSize: 8, width: 8, depth: 2, heads: 2, classes: 3, qkvBias: false },
  ];
  for (const config of configs) {
    const model = createModel(config);
    try {
      const built = model.namedParameters().reduce((n, [, p]) => n + p.value.shape.reduce((a, b) => a * b, 1), 0);
      assertEquals(checkModelConfig(config).parameters, built, JSON.stringify(config));
    } finally {
      model.dispose();
    }
  }
});

test("fuzz findings: numeric flags refuse empty values and integers past 2^53 instead of reading 0 or rounding", () => {
  const read = (args: string[]) => parseArgs(args);
  assertThrows(() => intFlag(read(["--steps="]), "steps", 1), /--steps must be a non-negative integer, got $/);
  assertThrows(() => intFlag(read(["--steps", " "]), "steps", 1), /--steps must be a non-negative integer/);
  assertThrows(() => intFlag(read(["--seed", "9007199254740993"]), "seed", 1), /--seed must be a non-negative integer, got 9007199254740993/);
  assertThrows(() => numberFlag(read(["--lr="]), "lr", 1), /--lr must be a non-negative number, got $/);
  assertEquals(intFlag(read(["--steps", "1e3"]), "steps", 1), 1000);
  assertEquals(numberFlag(read(["--lr", "0.05"]), "lr", 1), 0.05);
});
