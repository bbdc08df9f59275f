/**
 * A member's checkpoint in the run folder: `checkpoints/<member>/step-<NNNNNN>/` with
 *   model.safetensors  weights and BatchNorm buffers under PyTorch names; metadata config, step, member, mode
 *   state.safetensors  optimizer moments (PyTorch's names: exp_avg.<param>, momentum_buffer.<param>, …)
 *   state.json         step, epoch, data position, schedule, loss weights, counters, RNG states
 * and `checkpoints/<member>/latest`, a small JSON file naming the newest complete one, replaced
 * only after that folder is complete: a kill at any moment leaves the previous checkpoint usable.
 */
import { dispose } from "../engine.ts";
import { decodeSafetensors, encodeSafetensors, type HostTensor } from "../io/safetensors.ts";
import { tensor } from "../ops/creation.ts";
import type { Tensor } from "../tensor.ts";
import type { ModelConfig } from "../models/mod.ts";
import { type Member, namedDropouts } from "./member.ts";
import { readJson, type RunStorage, writeText } from "./storage.ts";

/** The run's position, the same for every member. */
export interface RunPosition {
  /** Steps completed. */
  step: number;
  epoch: number;
  /** Samples of this epoch already trained on. */
  samplesInEpoch: number;
}

/** What a lab may change between steps; saved so that a resumed run continues with it. */
export interface RunSettings {
  batchSize: number;
  harmonization: number;
  lrScale: number;
}

export interface CheckpointState extends RunPosition, RunSettings {
  member: string;
  mode: string;
  optimizerCounters: Record<string, number>;
  /** Dropout seed-stream positions by module path. */
  dropoutSeeds: Record<string, number>;
}

export interface LatestPointer {
  dir: string;
  step: number;
}

export const stepDir = (step: number) => `step-${String(step).padStart(6, "0")}`;
export const memberDir = (member: string) => `checkpoints/${member}`;

async function hostTensors(tensors: Iterable<[string, Tensor]>): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of tensors) {
    const data = await t.data();
    out.set(name, { shape: [...t.shape], data, stored: data instanceof Int32Array ? "I64" : "F32" });
  }
  return out;
}

/** Writes one member's checkpoint folder; returns its path. The `latest` pointer is separate (commitCheckpoint). */
export async function saveCheckpoint(
  storage: RunStorage,
  member: Member,
  modelConfig: ModelConfig,
  position: RunPosition,
  settings: RunSettings,
): Promise<string> {
  const dir = `${memberDir(member.name)}/${stepDir(position.step)}`;
  const metadata = { config: JSON.stringify(modelConfig), step: String(position.step), member: member.name, mode: member.mode };
  await storage.write(`${dir}/model.safetensors`, encodeSafetensors(await member.model.hostStateDict(), metadata));
  const optimizer = member.optimizer.state();
  await storage.write(`${dir}/state.safetensors`, encodeSafetensors(await hostTensors(optimizer.tensors), { member: member.name }));
  const state: CheckpointState = {
    ...position,
    ...settings,
    member: member.name,
    mode: member.mode,
    optimizerCounters: optimizer.counters,
    dropoutSeeds: Object.fromEntries(namedDropouts(member.model).map(([name, d]) => [name, d.seeds.position()])),
  };
  await writeText(storage, `${dir}/state.json`, JSON.stringify(state, null, 2) + "\n");
  return dir;
}

/** Points `latest` at a complete checkpoint folder (atomically). */
export function commitCheckpoint(storage: RunStorage, member: string, step: number): Promise<void> {
  const pointer: LatestPointer = { dir: stepDir(step), step };
  return writeText(storage, `${memberDir(member)}/latest`, JSON.stringify(pointer) + "\n");
}

export function readLatest(storage: RunStorage, member: string): Promise<LatestPointer | null> {
  return readJson<LatestPointer>(storage, `${memberDir(member)}/latest`);
}

async function readSafetensors(storage: RunStorage, path: string) {
  const bytes = await storage.read(path);
  if (bytes === null) throw new Error(`${storage.describe(path)}: missing`);
  return decodeSafetensors(bytes, storage.describe(path));
}

/** Loads a member's weights, buffers, optimizer state and RNG state from the checkpoint at `step`. */
export async function loadCheckpoint(storage: RunStorage, member: Member, step: number): Promise<CheckpointState> {
  const dir = `${memberDir(member.name)}/${stepDir(step)}`;
  const state = await readJson<CheckpointState>(storage, `${dir}/state.json`);
  if (state === null) throw new Error(`${storage.describe(dir)}: no state.json (not a complete checkpoint)`);
  const weights = await readSafetensors(storage, `${dir}/model.safetensors`);
  try {
    member.model.loadStateDict(weights.tensors);
  } catch (e) {
    throw new Error(`${storage.describe(`${dir}/model.safetensors`)}: ${(e as Error).message}`);
  }
  const moments = await readSafetensors(storage, `${dir}/state.safetensors`);
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of moments.tensors) tensors.set(name, tensor(t.data, t.shape, t.data instanceof Int32Array ? "int32" : "float32"));
  try {
    member.optimizer.loadState({ tensors, counters: state.optimizerCounters });
  } catch (e) {
    dispose([...tensors.values()]);
    throw new Error(`${storage.describe(`${dir}/state.safetensors`)}: ${(e as Error).message}`);
  }
  for (const [name, dropout] of namedDropouts(member.model)) {
    const position = state.dropoutSeeds[name];
    if (position === undefined) throw new Error(`${storage.describe(`${dir}/state.json`)}: no seed position for dropout "${name}"`);
    dropout.seeds.seek(position);
  }
  return state;
}
