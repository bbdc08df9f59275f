// Fuzz target: JSON model configs, checked without building (parseModelConfig). Mutations replace
// a key's value with hostile JSON (huge, infinite, negative, fractional, wrong type, nested 10^5
// deep), drop keys, add unknown ones, repeat keys (JSON keeps the last), name prototype keys as
// presets or blocks, and damage the text's bytes (read back as a file would be, invalid UTF-8
// included). An accepted config must be within the size limits and fully typed; an error must
// start with the file name and stay one short line.

import { MAX_MODEL_BLOCKS, MAX_MODEL_PARAMETERS, checkModelConfig, parseModelConfig } from "../../src/models/mod.ts";
import type { Random } from "../../src/data/random.ts";
import { check, type FuzzTarget, hostileJsonValue, mutateBytes, namedError, pick } from "./fuzz.ts";

const SOURCE = "fuzz-model.json";

const VALID: Record<string, unknown>[] = [
  { arch: "resnet", block: "basic", layers: [1, 1], widths: [8, 16], stemKernel: 3, stemStride: 1, stemPool: false, classes: 10 },
  { arch: "resnet", preset: "resnet18", classes: 6 },
  { arch: "resnet", preset: "resnet50", widths: [4, 4, 4, 4], classes: 2 },
  { arch: "vit", imageSize: 32, patchSize: 8, width: 16, depth: 2, heads: 2, classes: 4, dropRate: 0.1, attention: "composed" },
  { arch: "vit", preset: "vit_tiny_patch16_224", classes: 6, depth: 1 },
];

const KEYS = [
  "arch", "preset", "block", "layers", "widths", "stemWidth", "stemKernel", "stemStride", "stemPool", "classes", "inChannels",
  "seed", "imageSize", "patchSize", "width", "depth", "heads", "mlpWidth", "qkvBias", "dropRate", "layerNormEps", "attention",
];

function mutateText(random: Random, config: Record<string, unknown>): string {
  const copy: Record<string, unknown> = { ...config };
  const key = pick(random, [...Object.keys(copy), ...KEYS]);
  switch (random.int(7)) {
    case 0:
    case 1: // a hostile value
      copy[key] = "__HOSTILE__";
      return JSON.stringify(copy).replace('"__HOSTILE__"', hostileJsonValue(random));
    case 2: // a key dropped
      delete copy[key];
      return JSON.stringify(copy);
    case 3: // an unknown or prototype key
      copy[pick(random, ["mlp_ratio", "__proto__", "constructor", "toString", "Classes"])] = 1;
      return JSON.stringify(copy);
    case 4: // prototype names as enum values
      copy[pick(random, ["preset", "block", "arch", "attention"])] = pick(random, ["toString", "__proto__", "hasOwnProperty", "valueOf"]);
      return JSON.stringify(copy);
    case 5: // a repeated key: JSON keeps the last
      return JSON.stringify(copy).replace(/^\{/, `{${JSON.stringify(key)}:${hostileJsonValue(random)},`);
    default: // damaged bytes, decoded as a text file is
      return new TextDecoder().decode(mutateBytes(random, new TextEncoder().encode(JSON.stringify(copy))));
  }
}

export const modelConfigTarget: FuzzTarget = {
  name: "model-config",
  setup: () => Promise.resolve(),
  one(random, iteration) {
    const base = pick(random, VALID);
    const mutated = random.int(8) !== 0;
    const text = mutated ? mutateText(random, base) : JSON.stringify(base);
    const label = `${SOURCE} input ${iteration}`;
    let config;
    try {
      config = parseModelConfig(text, SOURCE);
    } catch (e) {
      check(mutated, `${label}: a valid config was refused: ${e}`);
      return Promise.resolve(namedError(e, /^fuzz-model\.json: /, label));
    }
    const { config: resolved, parameters } = checkModelConfig(config);
    check(parameters > 0 && parameters <= MAX_MODEL_PARAMETERS, `${label}: accepted with ${parameters} parameters`);
    const counts = resolved.arch === "resnet" ? [...resolved.layers, ...resolved.widths, resolved.stemWidth, resolved.stemKernel, resolved.stemStride, resolved.inChannels]
      : [resolved.imageSize, resolved.patchSize, resolved.width, resolved.depth, resolved.heads, resolved.mlpWidth, resolved.inChannels];
    check(counts.every((n) => Number.isSafeInteger(n) && n > 0), `${label}: accepted sizes ${counts}`);
    check(Number.isSafeInteger(resolved.classes) && resolved.classes >= 0, `${label}: accepted classes ${resolved.classes}`);
    const blocks = resolved.arch === "resnet" ? resolved.layers.reduce((a, b) => a + b, 0) : resolved.depth;
    check(blocks <= MAX_MODEL_BLOCKS, `${label}: accepted ${blocks} blocks`);
    return Promise.resolve({ ok: true as const });
  },
};
