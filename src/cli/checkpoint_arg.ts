// The CKPT argument of `harmonize eval` and `harmonize export`: a model.safetensors file (with
// "config" metadata), a checkpoint folder, a member's checkpoints folder, or a run folder + --member.

import { readSafetensorsFile, type SafetensorsContents } from "../io/safetensors.ts";
import { createModel, type Model, type ModelConfig } from "../models/mod.ts";
import { loadPyTorchStateDict } from "../models/pytorch_state_dict.ts";
import { readLatest } from "../run/checkpoint.ts";
import { FileStorage } from "../run/file_storage.ts";
import { fileErrorReason, UsageError } from "./command.ts";

export interface CheckpointFile {
  /** The model.safetensors file. */
  weights: string;
  /** The run folder it belongs to, when there is one (its config.json describes the data). */
  runDir: string | null;
  member: string | null;
}

async function stat(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`${path}: ${fileErrorReason(e)}`);
  }
}

/** RUN/checkpoints/<member>/step-N/model.safetensors → RUN and member. */
function runOf(weights: string): Pick<CheckpointFile, "runDir" | "member"> {
  const m = weights.match(/^(.*?)\/?checkpoints\/([^/]+)\/[^/]+\/model\.safetensors$/);
  return m ? { runDir: m[1] || ".", member: m[2] } : { runDir: null, member: null };
}

async function latestOf(runDir: string, member: string): Promise<string> {
  const storage = new FileStorage(runDir);
  const pointer = await readLatest(storage, member);
  if (!pointer) throw new Error(`${storage.describe(`checkpoints/${member}/latest`)}: missing, so the run has no complete checkpoint of ${member} yet`);
  return `${runDir}/checkpoints/${member}/${pointer.dir}/model.safetensors`;
}

export async function resolveCheckpoint(argument: string, member?: string): Promise<CheckpointFile> {
  const path = argument.replace(/(.)\/+$/, "$1");
  const info = await stat(path);
  if (!info) throw new Error(`${path}: no such file or folder`);
  if (info.isFile) return { weights: path, ...runOf(path) };
  if (await stat(`${path}/model.safetensors`)) return { weights: `${path}/model.safetensors`, ...runOf(`${path}/model.safetensors`) };
  if (await stat(`${path}/latest`)) {
    const runDir = path.replace(/\/?checkpoints\/[^/]+$/, "") || ".";
    const name = path.split("/").pop()!;
    return { weights: await latestOf(runDir, name), runDir, member: name };
  }
  if (await stat(`${path}/checkpoints`)) {
    const members: string[] = [];
    for await (const entry of Deno.readDir(`${path}/checkpoints`)) if (entry.isDirectory) members.push(entry.name);
    members.sort();
    const chosen = member ?? (members.length === 1 ? members[0] : undefined);
    if (!chosen) throw new UsageError(`${path} holds the members ${members.join(", ") || "(none)"}: choose one with --member`);
    if (!members.includes(chosen)) throw new UsageError(`${path} has no member "${chosen}" (members: ${members.join(", ") || "none"})`);
    return { weights: await latestOf(path, chosen), runDir: path, member: chosen };
  }
  throw new Error(`${path}: neither a model.safetensors file, a checkpoint folder nor a run folder (no checkpoints/ inside)`);
}

export interface LoadedModel {
  model: Model;
  config: ModelConfig;
  file: SafetensorsContents;
  /** Notes from loading (dtype conversions, absent BatchNorm buffers). */
  notes: string[];
}

/** The model a safetensors file's "config" metadata names (our model files have it), or null without one. */
export function storedModelConfig(file: SafetensorsContents, path: string): ModelConfig | null {
  const text = file.metadata.config;
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: the "config" metadata is not valid JSON (${(e as Error).message})`);
  }
}

/** Builds the model a safetensors file's "config" metadata describes and loads the file into it. */
export async function loadModelFile(weights: string): Promise<LoadedModel> {
  const file = await readSafetensorsFile(weights);
  const config = storedModelConfig(file, weights);
  if (!config) {
    throw new Error(`${weights}: no "config" metadata naming the model; for a PyTorch state dict use harmonize import --model`);
  }
  let model: Model;
  try {
    model = createModel(config);
  } catch (e) {
    throw new Error(`${weights}: the "config" metadata: ${(e as Error).message}`);
  }
  try {
    return { model, config, file, notes: loadPyTorchStateDict(model, file.tensors, weights).notes };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
