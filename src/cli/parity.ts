// `harmonize parity`: one batch through the harmonizer loss, every quantity written for comparison
// with PyTorch (see docs/models.md#parity-with-pytorch).

import { dispose, init } from "../engine.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../io/safetensors.ts";
import { createModel } from "../models/mod.ts";
import type { Module } from "../nn/module.ts";
import { readModelConfig } from "./model_config.ts";
import { parity, uploadBatch } from "../harmonize/parity.ts";
import { checkFlags, type Command, numberFlag, parseArgs, stringFlag, UsageError } from "./command.ts";

const USAGE = `usage: harmonize parity --model CONFIG.json --weights W.safetensors --batch B.safetensors --out R.safetensors
                       [--lambda-h 1] [--lambda-w 1e-5]
  --model    JSON model config (docs/models.md)
  --weights  a full state dict (parameters and BatchNorm buffers) under PyTorch names
  --batch    images, heatmaps, labels, tokens
  --out      where the logits, saliency, loss parts and gradients are written`;

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`--${flag} is required`);
  return value;
}

/** A state dict saved from named_parameters() lacks the buffers a model in training mode updates. */
function refuseParametersOnly(model: Module, names: Set<string>, path: string): void {
  const missing = model.namedBuffers().map(([name]) => name).filter((name) => !names.has(name));
  const parametersPresent = model.namedParameters().every(([name]) => names.has(name));
  if (missing.length === 0 || !parametersPresent) return;
  throw new Error(
    `${path} holds parameters only: ${missing.length} BatchNorm buffers are missing (e.g. ${missing[0]}); ` +
      `save model.state_dict(), which includes running_mean, running_var and num_batches_tracked, not named_parameters()`,
  );
}

export const parityCommand: Command = {
  summary: "compute logits, saliency, loss parts and gradients of one batch, for checking against PyTorch",
  usage: USAGE,
  async run(args) {
    const parsed = parseArgs(args);
    checkFlags(parsed, ["model", "weights", "batch", "out", "lambda-h", "lambda-w"]);
    const configPath = required(stringFlag(parsed, "model"), "model");
    const weightsPath = required(stringFlag(parsed, "weights"), "weights");
    const batchPath = required(stringFlag(parsed, "batch"), "batch");
    const outPath = required(stringFlag(parsed, "out"), "out");
    const harmonization = numberFlag(parsed, "lambda-h", 1);
    const weightDecay = numberFlag(parsed, "lambda-w", 1e-5);
    const config = await readModelConfig(configPath);
    await init();
    const model = createModel(config);
    let result;
    try {
      const weights = await readSafetensorsFile(weightsPath);
      refuseParametersOnly(model, new Set(weights.tensors.keys()), weightsPath);
      try {
        model.loadStateDict(weights.tensors);
      } catch (e) {
        throw new Error(`${weightsPath}: ${(e as Error).message}`);
      }
      const batch = uploadBatch((await readSafetensorsFile(batchPath)).tensors, batchPath);
      try {
        result = await parity(model, batch, { classes: model.config.classes, harmonization, weightDecay });
      } finally {
        dispose(batch);
      }
    } finally {
      model.dispose();
    }
    await writeSafetensorsFile(outPath, result, { config: JSON.stringify(config) });
    const loss = result.get("loss_total")!.data[0];
    console.log(`wrote ${result.size} tensors to ${outPath} (loss_total ${loss})`);
    return 0;
  },
};
