// Reading a model config JSON file for the commands that build a model (train, parity).

import type { ModelConfig } from "../models/mod.ts";
import { UsageError } from "./command.ts";

export async function readModelConfig(path: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`cannot read model config ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as ModelConfig;
  } catch (e) {
    throw new UsageError(`model config ${path} is not valid JSON: ${(e as Error).message}`);
  }
}
