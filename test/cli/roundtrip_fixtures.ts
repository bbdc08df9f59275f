/** The fixtures of test/golden/roundtrip_golden.py and what the round-trip tests share. */
import { readSafetensorsFile, type SafetensorsContents } from "../../src/io/safetensors.ts";
import { tensor } from "../../src/ops/creation.ts";
import type { Module } from "../../src/nn/module.ts";
import { main } from "../../src/cli/main.ts";

export const FIXTURES = new URL("../fixtures/roundtrip/", import.meta.url).pathname;
export const GENERATOR = new URL("../golden/roundtrip_golden.py", import.meta.url).pathname;
export type Arch = "resnet_tiny" | "vit_tiny";

export function readIo(): Promise<SafetensorsContents> {
  return readSafetensorsFile(`${FIXTURES}io.safetensors`);
}

/** Eval-mode logits of the fixture input. */
export async function evalLogits(model: Module, io: SafetensorsContents): Promise<Float32Array> {
  const x = io.tensors.get("input.x")!;
  const input = tensor(x.data, x.shape);
  const wasTraining = model.training;
  model.eval();
  const out = model.forward(input);
  model.train(wasTraining);
  const values = await out.data() as Float32Array;
  input.dispose();
  out.dispose();
  return values;
}

export interface CliResult {
  code: number;
  stdout: string[];
  stderr: string[];
}

/** `harmonize ARGS` in this process, with what it prints captured. */
export async function harmonize(...args: string[]): Promise<CliResult> {
  const result: CliResult = { code: -1, stdout: [], stderr: [] };
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => result.stdout.push(a.join(" "));
  console.error = (...a: unknown[]) => result.stderr.push(a.join(" "));
  try {
    result.code = await main(args);
  } finally {
    [console.log, console.error] = [log, error];
  }
  return result;
}

/** Whether Debian's python3-torch (with torchvision) is there to run the PyTorch side live. */
export async function torchAvailable(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("/usr/bin/python3", { args: ["-c", "import torch, torchvision"], stdout: "null", stderr: "null" }).output();
    return success;
  } catch {
    return false;
  }
}
