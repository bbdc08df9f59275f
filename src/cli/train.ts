// `harmonize train`: a run (docs/runs.md) of a plain and/or a harmonized model on ClickMe-format
// shards — by default the embedded dataset — into a run folder that `--resume` continues exactly.

import { init } from "../engine.ts";
import { readSafetensorsFile, type SafetensorsContents } from "../io/safetensors.ts";
import { loadPyTorchStateDict } from "../models/pytorch_state_dict.ts";
import type { Batch } from "../data/batch.ts";
import { inspectModel } from "../harmonize/inspect.ts";
import { writeReport } from "../report/write.ts";
import type { ModelConfig } from "../models/mod.ts";
import { checkMemory, estimateMemory } from "../run/memory.ts";
import { classNames, countTrainingRecords, type DataSpec, defaultAugment, embeddedSpec, runData } from "../run/dataset.ts";
import { type MemberMode, membersFor, type OptimizerConfig, type RunConfig } from "../run/config.ts";
import { FileStorage } from "../run/file_storage.ts";
import { Run } from "../run/run.ts";
import { type Member, NonFiniteError } from "../run/member.ts";
import type { RunPosition } from "../run/checkpoint.ts";
import { type RunStorage, writeText } from "../run/storage.ts";
import { HARMONIZE_VERSION } from "../run/version.ts";
import { MAIN_RECIPE } from "../run/recipe.ts";
import type { EvalEvent } from "../run/events.ts";
import { checkFlags, type Command, intFlag, numberFlag, parseArgs, type ParsedArgs, stringFlag, UsageError } from "./command.ts";
import { storedModelConfig } from "./checkpoint_arg.ts";
import { MODEL_PRESETS, modelArgument, presetList } from "./model_config.ts";
import { Progress } from "./progress.ts";
import { formatProfile, profile } from "../profile.ts";

const R = MAIN_RECIPE;
const RECIPE_LR = R.schedule.base;
const RECIPE_WARMUP = R.schedule.kind === "cosine" ? R.schedule.warmupSteps : 0;

const USAGE = `usage: harmonize train [options]            a new run; without options the main job (npm start)
       harmonize train --resume RUN_DIR           continue a run exactly where its last checkpoint left it
Defaults not given below come from the main job's recipe, MAIN_RECIPE in src/run/recipe.ts.

model and data
  --model NAME|FILE.json   a preset (ViTs at --size): ${presetList()};
                           or a JSON model config (docs/models.md); default: the recipe's model, or
                           with --init the model of the file's "config" metadata
  --init FILE              fine-tune: start every member from the weights of a PyTorch/timm state
                           dict in safetensors or a Harmonize model.safetensors (not with --resume)
  --train SHARDS           comma-separated shard paths, globs or URLs ({a..b} ranges); default: the
                           embedded dataset
  --val SHARDS             validation shards (default with the embedded dataset: its validation split)
  --images SHARDS          plain labelled images mixed in (layout "images"), --images-weight W (0.8)
  --size PX                image side (${R.imageSize})      --classes K   (embedded: ${R.classes}; shards: 1000)
  --synthetic-records N    embedded training images (${R.trainRecords}; validation in the recipe's proportion, ${R.validationRecords})
  --skip-corrupt           skip unreadable records (logged as "skip" lines) instead of stopping
  --workers N              JPEG decode workers (default 1)
length and schedule
  --epochs N (${R.epochs}) | --steps N   the schedule is sized from the real number of steps
                           (records are counted; URLs need --steps)
  --batch-size N (${R.batchSize})  --optimizer sgd|adamw (${R.optimizer.name})  --lr X (${RECIPE_LR}; other optimizer: sgd 0.05, adamw 1e-3)
  --warmup N (${RECIPE_WARMUP})  --momentum X (0.9)  --weight-decay X (adamw 0.05)  --clip NORM
loss
  --mode both|harmonized|plain (default both: the two side by side on the same batches)
  --lambda-h X (${R.loss.harmonization})  --lambda-w X (${R.loss.weightDecay})
run
  --run DIR                the run folder (default runs/<date-time>)
  --seed N (0)  --eval-every N (0: at epoch ends)  --checkpoint-every N (0: at epoch ends)
  --memory-budget GIB      refuse a batch that needs more (default: 80% of the free memory)
  --profile                after one warm-up step, profile the next (time and bytes per primitive,
                           kernel and phase; docs/profiling.md), print it, and go on training
  --debug                  stack traces on errors
Ctrl-C (SIGINT) or SIGTERM: stops after the step (or between evaluation batches), saves a checkpoint
and exits (130/143); --resume continues. A second one of either exits at once, keeping the last
complete checkpoint.`;

const FLAGS = [
  "model", "train", "val", "images", "images-weight", "size", "classes", "synthetic-records", "skip-corrupt", "workers",
  "epochs", "steps", "batch-size", "lr", "warmup", "optimizer", "momentum", "weight-decay", "clip", "mode", "lambda-h",
  "lambda-w", "run", "seed", "eval-every", "checkpoint-every", "memory-budget", "resume",
  "profile", "init",
];

type StoredConfig = RunConfig & { data: DataSpec };

function listFlag(parsed: ParsedArgs, name: string): string[] {
  const value = stringFlag(parsed, name);
  return value ? value.split(",").map((s) => s.trim()).filter(Boolean) : [];
}

function choice<T extends string>(parsed: ParsedArgs, name: string, options: readonly T[], fallback: T): T {
  const value = stringFlag(parsed, name, fallback)!;
  if (!options.includes(value as T)) throw new UsageError(`--${name} must be one of ${options.join(", ")}, got ${value}`);
  return value as T;
}

/** --init FILE: the weights to start from, and the model its "config" metadata names (our own files have one). */
interface InitialWeights {
  path: string;
  file: SafetensorsContents;
  config: ModelConfig | null;
}

async function readInitialWeights(path: string): Promise<InitialWeights> {
  let file: SafetensorsContents;
  try {
    file = await readSafetensorsFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${path}: not found (--init)`);
    throw e;
  }
  return { path, file, config: storedModelConfig(file, path) };
}

async function modelConfig(parsed: ParsedArgs, size: number, classes: number, seed: number, initial: InitialWeights | null): Promise<ModelConfig> {
  const name = stringFlag(parsed, "model");
  if (name === undefined && initial) {
    if (!initial.config) throw new Error(`${initial.path}: no "config" metadata naming the model; give --model PRESET|CONFIG.json for a PyTorch state dict`);
    return { ...initial.config, classes: initial.config.classes ?? classes } as ModelConfig;
  }
  if (name === undefined) return { ...R.model, ...(R.model.arch === "vit" ? { imageSize: size } : {}), classes, seed } as ModelConfig;
  if (Object.hasOwn(MODEL_PRESETS, name)) return { ...MODEL_PRESETS[name](size), classes, seed } as ModelConfig;
  const config = await modelArgument(name);
  return { ...config, classes: config.classes ?? classes } as ModelConfig;
}

/** The recipe's optimizer when it is the one asked for, else the optimizer's defaults; flags override. */
function optimizerConfig(parsed: ParsedArgs, name: "sgd" | "adamw"): OptimizerConfig {
  const base: OptimizerConfig = R.optimizer.name === name ? { ...R.optimizer } : { name };
  if (base.name === "sgd") return { ...base, momentum: numberFlag(parsed, "momentum", base.momentum ?? 0.9), nesterov: base.nesterov ?? true };
  return { ...base, weightDecay: numberFlag(parsed, "weight-decay", base.weightDecay ?? 0.05) };
}

/** Reads the options of a new run into its stored config. */
async function newRunConfig(parsed: ParsedArgs, initial: InitialWeights | null): Promise<StoredConfig> {
  const size = intFlag(parsed, "size", R.imageSize);
  const seed = intFlag(parsed, "seed", 0);
  const trainShards = listFlag(parsed, "train");
  const embedded = trainShards.length === 0;
  const classes = intFlag(parsed, "classes", embedded ? R.classes : 1000);
  const trainRecords = intFlag(parsed, "synthetic-records", R.trainRecords);
  const images = listFlag(parsed, "images");
  const imagesWeight = images.length ? numberFlag(parsed, "images-weight", 0.8) : 0;
  if (imagesWeight >= 1) throw new UsageError(`--images-weight must be below 1, got ${imagesWeight}`);
  const valShards = listFlag(parsed, "val");
  const data: DataSpec = {
    train: embedded ? "embedded" : trainShards,
    val: valShards.length ? valShards : embedded ? "embedded" : null,
    images,
    imagesWeight,
    size,
    classes,
    embedded: embedded ? embeddedSpec(trainRecords) : null,
    augment: defaultAugment(embedded),
    seed,
    skipCorrupt: parsed.flags.has("skip-corrupt"),
    workers: intFlag(parsed, "workers", 1),
    records: null,
  };
  if (size < 8) throw new UsageError(`--size must be at least 8, got ${size}`);
  const batchSize = intFlag(parsed, "batch-size", R.batchSize);
  if (batchSize < 1) throw new UsageError("--batch-size must be at least 1");
  if (parsed.flags.has("epochs") && parsed.flags.has("steps")) throw new UsageError("give --epochs or --steps, not both");
  data.records = await countTrainingRecords(data);
  let totalSteps: number;
  if (parsed.flags.has("steps")) totalSteps = intFlag(parsed, "steps", 0);
  else if (data.records === null) {
    throw new UsageError("the training shards include URLs, whose length is unknown before reading: give --steps N to size the schedule");
  } else {
    const perEpoch = Math.floor(data.records / batchSize);
    if (perEpoch < 1) throw new UsageError(`the training data holds ${data.records} records, fewer than one batch of ${batchSize}`);
    totalSteps = intFlag(parsed, "epochs", R.epochs) * perEpoch;
  }
  if (totalSteps < 1) throw new UsageError("the run would take no steps (--epochs/--steps)");
  const optimizerName = choice(parsed, "optimizer", ["sgd", "adamw"] as const, R.optimizer.name);
  const base = numberFlag(parsed, "lr", optimizerName === R.optimizer.name ? RECIPE_LR : optimizerName === "sgd" ? 0.05 : 1e-3);
  const mode = choice(parsed, "mode", ["both", "harmonized", "plain"] as const, "both") as MemberMode | "both";
  const model = await modelConfig(parsed, size, classes, seed, initial);
  if (model.classes !== classes) throw new UsageError(`the model has ${model.classes} classes but the data ${classes} (--classes)`);
  return {
    seed,
    members: membersFor(mode),
    model,
    classes,
    imageSize: size,
    batchSize,
    optimizer: optimizerConfig(parsed, optimizerName),
    schedule: R.schedule.kind === "constant" ? { kind: "constant", base } : {
      kind: "cosine",
      base,
      warmupSteps: Math.min(intFlag(parsed, "warmup", RECIPE_WARMUP), totalSteps),
      ...(R.schedule.minimum !== undefined ? { minimum: R.schedule.minimum } : {}),
    },
    loss: {
      ...R.loss,
      harmonization: numberFlag(parsed, "lambda-h", R.loss.harmonization),
      weightDecay: numberFlag(parsed, "lambda-w", R.loss.weightDecay),
      ...(parsed.flags.has("clip") ? { clipNorm: numberFlag(parsed, "clip", 0) } : {}),
    },
    totalSteps,
    evalEvery: intFlag(parsed, "eval-every", 0),
    checkpointEvery: intFlag(parsed, "checkpoint-every", 0),
    data,
  };
}

function defaultRunDir(): string {
  return `runs/${new Date().toISOString().replace(/[:.]/g, "-").replace(/-\d+Z$/, "")}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function memoryBudget(parsed: ParsedArgs): number {
  if (parsed.flags.has("memory-budget")) return numberFlag(parsed, "memory-budget", 0) * 2 ** 30;
  return 0.8 * Deno.systemMemoryInfo().available;
}

/** Metric rows of the final evaluation, one column per member. */
function comparisonTable(reports: EvalEvent[]): string {
  const rows: [string, (e: EvalEvent) => string][] = [
    ["validation accuracy", (e) => `${(100 * e.accuracy).toFixed(1)} %`],
    ["alignment score", (e) => e.alignmentScore.toFixed(3)],
    ["Spearman ρ", (e) => e.spearman.toFixed(3)],
    ["Dice", (e) => e.dice.toFixed(3)],
    ["IoU", (e) => e.iou.toFixed(3)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const columns = reports.map((r) => Math.max(r.member.length, 9));
  const line = (name: string, cells: string[]) => `${name.padEnd(width)}  ${cells.map((c, i) => c.padStart(columns[i])).join("  ")}`;
  return [line("", reports.map((r) => r.member)), ...rows.map(([name, cell]) => line(name, reports.map(cell)))].join("\n");
}

/**
 * Evaluation that also writes inspection/<member>.json (confusion matrix, gallery, pyramid) for
 * the report, on the same pass over the validation data.
 */
function inspectingEvaluator(storage: RunStorage, spec: DataSpec) {
  return async (member: Member, batches: AsyncIterable<Batch>, position: RunPosition) => {
    const inspection = await inspectModel(member.model, batches, { classes: spec.classes, classNames: classNames(spec) });
    const record = { ...inspection, member: member.name, step: position.step, epoch: position.epoch };
    await writeText(storage, `inspection/${member.name}.json`, JSON.stringify(record) + "\n");
    return inspection.evaluation;
  };
}

/** Writes report.html; a report that cannot be written is a warning, not a lost run. */
async function report(runDir: string, progress: Progress): Promise<string | null> {
  try {
    return await writeReport(runDir);
  } catch (e) {
    progress.line(`warning: report not written: ${(e as Error).message}`);
    return null;
  }
}

/** --profile: one warm-up step (pipelines compile), then one profiled step of every member. */
async function profileOneStep(run: Run, progress: Progress): Promise<void> {
  if (!(await run.step())) return;
  const { result: stepped, report } = await profile(() => run.step());
  if (stepped) progress.line(`profile of step ${run.position.step}, load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}:\n${formatProfile(report)}`);
}

export const trainCommand: Command = {
  summary: "train plain and harmonized models side by side into a resumable run folder",
  usage: USAGE,
  async run(args) {
    const parsed = parseArgs(args, ["skip-corrupt", "profile"]);
    checkFlags(parsed, FLAGS);
    const resumeDir = stringFlag(parsed, "resume");
    if (resumeDir && parsed.flags.has("init")) {
      throw new UsageError("--init starts a new run from a file's weights, --resume continues a run from its checkpoint: give one of them");
    }
    let runDir: string;
    let stored: StoredConfig;
    let initial: InitialWeights | null = null;
    if (resumeDir) {
      const extra = [...parsed.flags.keys()].filter((f) => f !== "resume" && f !== "workers");
      if (extra.length) throw new UsageError(`--resume continues a run with its own options; drop --${extra.join(", --")}`);
      runDir = resumeDir;
      const config = await Run.readConfig(new FileStorage(runDir));
      if (!config) throw new Error(`${runDir}/config.json: not found (is ${runDir} a run folder?)`);
      stored = config as StoredConfig;
      if (parsed.flags.has("workers")) stored.data.workers = intFlag(parsed, "workers", 1);
    } else {
      const initPath = stringFlag(parsed, "init");
      initial = initPath ? await readInitialWeights(initPath) : null;
      stored = await newRunConfig(parsed, initial);
      runDir = stringFlag(parsed, "run") ?? defaultRunDir();
      if (await exists(`${runDir}/config.json`)) {
        throw new UsageError(`${runDir} already holds a run: continue it with --resume ${runDir}, or choose another --run`);
      }
    }
    const { data: dataSpec, ...config } = stored;

    const backend = await init();
    if (!resumeDir) {
      const bufferBytes = backend.adapter.limits.maxStorageBufferBindingSize ?? Infinity;
      checkMemory(config, estimateMemory(config), { budgetBytes: memoryBudget(parsed), bufferBytes });
    }
    const storage = new FileStorage(runDir);
    let run: Run | null = null;
    const tty = Deno.stdout.isTerminal();
    const encoder = new TextEncoder();
    const progress = new Progress(
      config.totalSteps,
      config.members.map((m) => m.name),
      () => run?.settings.batchSize ?? config.batchSize,
      tty,
      (text) => Deno.stdout.writeSync(encoder.encode(text)),
      tty ? Deno.consoleSize().columns : undefined,
    );
    // Skipped records are logged on the side; a failure to log one ends the run below, as one line.
    const skipped: Promise<void>[] = [];
    let skipLogFailure: { error: unknown } | null = null;
    const data = await runData(dataSpec, config.batchSize, (skip) => {
      if (run) skipped.push(run.emit({ ...skip, step: run.position.step }).catch((error) => void (skipLogFailure ??= { error })));
    });
    const describe = {
      harmonizeVersion: HARMONIZE_VERSION,
      createdAt: new Date().toISOString(),
      adapter: backend.adapter,
      data: dataSpec,
      ...(initial ? { init: initial.path } : {}),
    };
    // Every member starts from the file's weights; the notes (conversions, absent buffers) are the same for each.
    const notes = new Set<string>();
    const initialize = initial && ((member: Member) => {
      for (const note of loadPyTorchStateDict(member.model, initial!.file.tensors, initial!.path).notes) notes.add(note);
    });
    const evaluator = inspectingEvaluator(storage, dataSpec);
    run = resumeDir
      ? await Run.resume({ config, data, storage, evaluator })
      : await Run.start({ config, data, storage, describe, evaluator, ...(initialize ? { initialize } : {}) });
    initial = null; // the file's tensors are on the GPU now
    for (const note of notes) console.error(`note: ${note}`);
    const last = new Map<string, EvalEvent>();
    run.on((event) => {
      if (event.type === "step") progress.step(event);
      else if (event.type === "evaluating") progress.line(`step ${event.step}: evaluating on the validation data…`);
      else if (event.type === "eval") {
        last.set(event.member, event);
        progress.eval(event);
      } else if (event.type === "skip") progress.line(`skipped ${event.shard} record ${event.record} at byte ${event.offset}: ${event.reason}`);
      else if (event.type === "checkpoint" && event.reason !== "interval" && event.reason !== "epoch") {
        progress.line(`checkpoint at step ${event.step}: ${Object.values(event.paths).join(", ")}`);
      } else if (event.type === "log") progress.line(event.message);
    });
    progress.line(
      resumeDir
        ? run.finished
          ? `${runDir} has taken all its ${run.position.step} steps; nothing left to train`
          : `resuming ${runDir} from step ${run.position.step} of ${config.totalSteps} (epoch ${run.position.epoch})`
        : `run ${runDir}: ${config.members.map((m) => m.name).join(" + ")}, ${config.totalSteps} steps of ${config.batchSize} ` +
          `(${dataSpec.records ?? "?"} training records), on ${backend.adapter.description}`,
    );

    // The first SIGINT or SIGTERM stops the run at its next safe point (after the step, or between
    // evaluation batches) with a checkpoint. The other signal's listener goes at once, and this one's
    // a second later, which gives them back their default action: a further signal ends the process
    // at once (130/143), done by the kernel even while a GPU submission holds this thread. The second
    // of grace absorbs the copies of one signal sent to a whole process group (`timeout`, a batch
    // scheduler), which reaches Deno both directly and through the npm wrapper. Atomic writes and the
    // `latest` pointer keep the last complete checkpoint intact.
    const stop = new AbortController();
    let signalName = "";
    const listening = new Map<Deno.Signal, () => void>();
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const stopListening = (keep?: Deno.Signal) => {
      for (const [signal, handler] of listening) {
        if (signal === keep) continue;
        Deno.removeSignalListener(signal, handler);
        listening.delete(signal);
      }
    };
    const onSignal = (name: Deno.Signal) => () => {
      if (signalName) return;
      signalName = name;
      stopListening(name);
      graceTimer = setTimeout(() => stopListening(), 1000);
      progress.line(`${name}: stopping after this step or evaluation batch and saving a checkpoint… (again to quit at once)`);
      stop.abort();
    };
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    for (const signal of signals) listening.set(signal, onSignal(signal));
    for (const [signal, handler] of listening) Deno.addSignalListener(signal, handler);
    try {
      if (parsed.flags.has("profile")) await profileOneStep(run, progress);
      const outcome = await run.train(stop.signal);
      await Promise.all(skipped);
      if (skipLogFailure) throw (skipLogFailure as { error: unknown }).error;
      progress.finish();
      if (outcome === "stopped") {
        const where = Object.values(await run.latestCheckpoints()).join(", ");
        await report(runDir, progress);
        console.log(`stopped at step ${run.position.step} (${signalName}); checkpoint: ${where}; continue with: harmonize train --resume ${runDir}`);
        return signalName === "SIGTERM" ? 143 : 130;
      }
      const reports = config.members.map((m) => last.get(m.name)).filter((e): e is EvalEvent => e !== undefined);
      if (reports.length) console.log("\n" + comparisonTable(reports) + "\n");
      const written = await report(runDir, progress);
      console.log(written ? `report: ${written}` : `run folder: ${runDir}`);
      return 0;
    } catch (e) {
      progress.finish();
      await report(runDir, progress);
      const where = Object.values(await run.latestCheckpoints()).join(", ");
      const kept = where ? `last good checkpoint: ${where}` : "no checkpoint was written yet";
      const hint = e instanceof NonFiniteError ? "; lower --lr or --lambda-h, or add --clip NORM" : "";
      throw new Error(`${(e as Error).message}; ${kept}${hint}`, { cause: e });
    } finally {
      clearTimeout(graceTimer);
      stopListening();
      await run.close();
      run.dispose();
    }
  },
};
