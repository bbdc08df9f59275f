/// <reference lib="webworker" />
/**
 * The lab's training worker: owns the GPU device and the run, trains while the page only draws.
 * Commands arrive between steps (every step awaits the GPU, so messages are handled in between).
 * The run folder lives in the Origin Private File System, so a reload or a lost device resumes
 * from the last autosave (the run's checkpoint).
 */
import { engine, init } from "../../src/engine.ts";
import { decodeSafetensors } from "../../src/io/safetensors.ts";
import { MemoryStorage, METRICS_FILE, readJson, readLatest, readText, type RunEvent, type RunStorage } from "../../src/run/mod.ts";
import { LabRun } from "./lab_run.ts";
import { OpfsStorage } from "./opfs_storage.ts";
import type { DataChoice, EvalEvent, LabSettings, PageMessage, StepEvent, WorkerMessage } from "./protocol.ts";

const scope = self as unknown as DedicatedWorkerGlobalScope;
const RUN_FOLDER = "harmonize-lab/run";

let lab: LabRun | null = null;
/** The run folder: in OPFS, or in memory where the browser has no OPFS (then nothing survives a reload). */
let storage: RunStorage | null = null;
let data: DataChoice = { kind: "embedded" };
let running = false;
let loop: Promise<void> | null = null;
let pyramidIndex: number | null = null;
/** Set while a device is being replaced: the loss of the old one is expected then. */
let recovering = false;
/** Events of the step in progress, posted together. */
let steps: StepEvent[] = [];
let evals: EvalEvent[] = [];

function post(message: WorkerMessage, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function postState(): void {
  if (lab) post({ type: "state", running, step: lab.run.position.step, steps: lab.run.config.totalSteps });
}

function fail(e: unknown): void {
  post({ type: "error", message: e instanceof Error ? e.message : String(e) });
}

async function openDevice(): Promise<string> {
  const backend = await init();
  backend.onDeviceLost((info) => {
    if (!recovering) void recover(`${info.reason || "unknown"}: ${info.message || "no message"}`);
  });
  return backend.adapter.description;
}

/** The saved run, if any: its lab settings and the step all members have a checkpoint of. */
async function savedRun(): Promise<{ step: number; settings: LabSettings } | null> {
  const folder = await OpfsStorage.open(RUN_FOLDER);
  const config = await readJson<{ lab?: LabSettings; members?: { name: string }[] }>(folder, "config.json");
  if (!config?.lab || !config.members) return null;
  const pointers = await Promise.all(config.members.map((m) => readLatest(folder, m.name)));
  if (pointers.some((p) => p === null)) return null;
  return { step: Math.min(...pointers.map((p) => p!.step)), settings: config.lab };
}

function onRunEvent(event: RunEvent): void {
  if (event.type === "step") steps.push(event);
  else if (event.type === "eval") evals.push(event);
  else if (event.type === "checkpoint") {
    post({ type: "autosaved", step: event.step });
    void pruneCheckpoints(event.step);
  } else if (event.type === "log") post({ type: "status", text: event.message });
}

/** Keeps only the newest checkpoint of each member: OPFS space is the user's. */
async function pruneCheckpoints(step: number): Promise<void> {
  if (!(storage instanceof OpfsStorage) || !lab) return;
  const keep = `step-${String(step).padStart(6, "0")}`;
  for (const member of lab.run.members) {
    for (const name of await storage.list(`checkpoints/${member.name}`)) {
      if (name.startsWith("step-") && name !== keep) await storage.remove(`checkpoints/${member.name}/${name}`);
    }
  }
}

/** Posts what the last run call reported: steps, and after an evaluation the gallery and pyramid. */
async function flushEvents(): Promise<void> {
  if (steps.length) post({ type: "step", events: steps });
  steps = [];
  if (!evals.length || !lab) return;
  post({ type: "eval", events: evals });
  evals = [];
  const galleries = Object.fromEntries([...lab.inspections].map(([name, inspection]) => [name, inspection.gallery]));
  const paint = await lab.paintImages();
  post({ type: "gallery", gallery: { step: lab.run.position.step, classNames: [...paint.labels], galleries, paint } });
  await postPyramid();
}

async function postPyramid(): Promise<void> {
  if (!lab) return;
  const harmonized = lab.run.members.find((m) => m.mode === "harmonized")?.name ?? lab.run.members[0].name;
  const pyramid = pyramidIndex === null ? lab.inspections.get(harmonized)?.pyramid : await lab.pyramid(pyramidIndex);
  if (pyramid) post({ type: "pyramid", pyramid: { step: lab.run.position.step, member: harmonized, pyramid } });
}

/** The curves so far of a resumed run, from its metrics.jsonl (which the run cut at the resumed step). */
async function replayMetrics(): Promise<void> {
  const lines = ((await readText(storage!, METRICS_FILE)) ?? "").split("\n").filter(Boolean).map((line) => JSON.parse(line) as RunEvent);
  post({ type: "step", events: lines.filter((e): e is StepEvent => e.type === "step") });
  post({ type: "eval", events: lines.filter((e): e is EvalEvent => e.type === "eval") });
}

/** One step of both members (with the evaluation and autosave the run schedules), or the run's end. */
async function stepOnce(): Promise<void> {
  const run = lab!.run;
  await run.step();
  if (run.finished) await run.train(); // evaluates (unless just done) and checkpoints at the end
  await flushEvents();
  postState();
}

function play(): void {
  if (running || !lab || lab.run.finished) return;
  running = true;
  postState();
  loop = (async () => {
    try {
      while (running && lab && !lab.run.finished) await stepOnce();
    } catch (e) {
      if (!recovering && !(await deviceLostSoon())) fail(e);
    } finally {
      running = false;
      loop = null;
      postState();
    }
  })();
}

/** Whether the device is lost (or about to be: its loss is reported asynchronously). */
async function deviceLostSoon(): Promise<boolean> {
  if (!engine.ready) return true;
  const lost = await Promise.race([engine.backend.device.lost.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
  return lost;
}

/** Stops after the current step and autosaves, so that a reload resumes exactly here. */
async function pause(): Promise<void> {
  running = false;
  await loop;
  if (lab && !recovering) {
    await lab.run.checkpoint("stop");
  }
}

/** Runs `fn` between steps and resumes training afterwards if it was running. */
async function whilePaused(fn: () => Promise<void>): Promise<void> {
  const wasRunning = running;
  await pause();
  try {
    await fn();
  } finally {
    if (wasRunning) play();
  }
}

async function open(settings: LabSettings, resume: boolean): Promise<void> {
  try {
    if (!resume) await (await OpfsStorage.open("harmonize-lab")).remove("run");
    storage = await OpfsStorage.open(RUN_FOLDER);
  } catch (e) {
    if (resume) throw e;
    storage = new MemoryStorage();
    post({ type: "autosave", enabled: false, reason: (e as Error).message });
  }
  lab = await LabRun.open(settings, data, storage, resume);
  lab.run.on(onRunEvent);
  if (storage instanceof OpfsStorage) post({ type: "autosave", enabled: true, every: lab.run.config.checkpointEvery });
}

/** After a device loss: a new device, the run rebuilt from the last autosave, and training continues. */
async function recover(reason: string): Promise<void> {
  recovering = true;
  const wasRunning = running;
  running = false;
  await loop?.catch(() => {});
  const saved = await savedRun().catch(() => null);
  post({ type: "status", text: `The GPU device was lost (${reason}); opening a new device to continue from the autosave at step ${saved?.step ?? 0}…` });
  lab = null; // its tensors died with the device
  engine.setBackend(null);
  try {
    await openDevice();
    if (!saved) throw new Error("the GPU device was lost before the first autosave; start a new run");
    await open(saved.settings, true);
    post({ type: "recovered", step: lab!.run.position.step, reason });
    await lab!.run.evaluate();
    await flushEvents();
    postState();
  } catch (e) {
    fail(e);
  } finally {
    recovering = false;
  }
  if (wasRunning) play();
}

async function handle(message: PageMessage): Promise<void> {
  switch (message.type) {
    case "init": {
      running = false;
      await loop;
      await lab?.close();
      lab = null;
      data = message.data;
      pyramidIndex = null;
      const adapter = await openDevice();
      const saved = message.resume ? await savedRun() : null;
      if (message.resume && !saved) throw new Error("no autosaved run to resume");
      await open(saved?.settings ?? message.settings, message.resume);
      const run = lab!.run;
      post({ type: "ready", adapter, settings: lab!.settings, step: run.position.step, resumedFrom: saved ? run.position.step : null, painted: lab!.painted.targets.length });
      if (saved) await replayMetrics();
      await run.evaluate();
      await flushEvents();
      postState();
      return;
    }
    case "play":
      return play();
    case "pause":
      return pause();
    case "step":
      await pause();
      if (lab && !lab.run.finished) await stepOnce();
      return;
    case "set":
      lab?.set(message);
      return;
    case "pyramid":
      pyramidIndex = message.index;
      return whilePaused(postPyramid);
    case "add-target":
      // Between steps, so that the target's first step is the one it is saved with.
      return whilePaused(async () => {
        if (!lab) return;
        const count = await lab.addTarget(message.index, message.map);
        post({ type: "status", text: `Your map for image ${message.index + 1} is now a training target of the harmonized model from step ${lab.run.position.step + 1} on (${count} painted in all).` });
      });
    case "download":
      return whilePaused(async () => {
        if (!lab || !storage) return;
        const latest = await readLatest(storage, message.member);
        if (!latest) throw new Error(`no checkpoint of the ${message.member} model yet`);
        const path = `checkpoints/${message.member}/${latest.dir}/model.safetensors`;
        const bytes = await storage.read(path);
        if (!bytes) throw new Error(`${storage.describe(path)} is missing`);
        post({ type: "file", name: `${message.member}-${latest.dir}.safetensors`, bytes }, [bytes.buffer]);
      });
    case "upload":
      return whilePaused(async () => {
        if (!lab) return;
        for (const file of message.files) {
          const { tensors, metadata } = decodeSafetensors(new Uint8Array(await file.arrayBuffer()), file.name);
          const name = metadata.member ?? "harmonized";
          const member = lab.run.members.find((m) => m.name === name);
          if (!member) throw new Error(`${file.name}: names the member ${JSON.stringify(name)}; this lab trains plain and harmonized`);
          try {
            member.model.loadStateDict(tensors);
          } catch (e) {
            throw new Error(`${file.name}: ${(e as Error).message} (was it trained with the other model choice?)`);
          }
          post({ type: "status", text: `loaded ${file.name} into the ${name} model` });
        }
        await lab.run.evaluate();
        await flushEvents();
      });
    case "lose-device":
      engine.backend.device.destroy();
      return;
  }
}

// Messages are handled one after another, so that e.g. a step never overlaps an upload.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event: MessageEvent<PageMessage>) => {
  queue = queue.then(() => handle(event.data)).catch(fail);
};

// Tell the page at once whether an autosaved run exists, before any device is opened.
savedRun().then(
  (saved) => post({ type: "saved-run", step: saved?.step ?? null, settings: saved?.settings ?? null }),
  (e) => {
    post({ type: "autosave", enabled: false, reason: (e as Error).message });
    post({ type: "saved-run", step: null, settings: null });
  },
);
