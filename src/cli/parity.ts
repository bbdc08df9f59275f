// `harmonize parity`: one batch through the harmonizer loss, every quantity written for comparison
// with PyTorch (see docs/models.md#parity-with-pytorch).

import { dispose, init } from "../engine.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../io/safetensors.ts";
import { createModel } from "../models/mod.ts";
import { readModelConfig } from "./model_config.ts";
import { parity, uploadBatch } from "../harmonize/parity.ts";
import { checkFlags, type Command, numberFlag, parseArgs, stringFlag, UsageError } from "./command.ts";

const USAGE = "usage: harmonize parity --model CONFIG.json --weights W.safetensors --batch B.safetensors --out R.safetensors " +
  "[--lambda-h 1] [--lambda-w 1e-5]";

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`--${flag} is required\n${USAGE}`);
  return value;
}

export const parityCommand: Command = {
  summary: "compute logits, saliency, loss parts and gradients of one batch, for checking against PyTorch",
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
