// `harmonize eval CKPT`: accuracy and alignment of a checkpoint on validation shards, as JSON on
// stdout, optionally with a self-contained HTML report (docs/reports.md).

import { init } from "../engine.ts";
import { gpuBatches } from "../data/gpu_batches.ts";
import { Loader } from "../data/loader.ts";
import type { ShardInput } from "../data/shard_list.ts";
import { SYNTH_CLASS_NAMES } from "../data/synthetic.ts";
import { type DataSpec, type EmbeddedSpec, embeddedShards, embeddedSpec } from "../run/dataset.ts";
import { MAIN_RECIPE } from "../run/recipe.ts";
import { type Inspection, inspectModel } from "../harmonize/inspect.ts";
import { renderReport } from "../report/html.ts";
import { writeFileAtomic } from "../report/write.ts";
import { HARMONIZE_VERSION } from "../run/version.ts";
import { type CheckpointFile, loadModelFile, resolveCheckpoint } from "./checkpoint_arg.ts";
import { checkFlags, type Command, intFlag, parseArgs, type ParsedArgs, stringFlag, UsageError } from "./command.ts";

const USAGE = `usage: harmonize eval CKPT [--member NAME] [--val SHARDS] [--json OUT.json] [--report OUT.html]

Evaluates a model on validation shards: top-1 accuracy on every image; alignment with the human
maps (Spearman ρ, Dice, IoU of the top 10 %, score = ρ / human ceiling) on the images that have one.
Prints one JSON object on stdout.

  CKPT                 a model.safetensors file with "config" metadata, a checkpoint folder
                       (RUN/checkpoints/<member>/step-N), RUN/checkpoints/<member>, or a run folder
  --member NAME        the member of a run folder (default: its only one)
  --val SHARDS         comma-separated shard paths, globs or URLs; default: the run's validation
                       data, else the embedded dataset's validation split
  --size PX            image side (default: the run's, else the ViT's image size, else 32)
  --synthetic-records N, --seed N
                       the embedded dataset (default: the run's, else the recipe's, seed 0)
  --batch-size N       (default 64)        --workers N   JPEG decode workers (default 1)
  --gallery N          validation images in the report's gallery (default 8)
  --json OUT.json      also write the JSON to a file
  --report OUT.html    write a self-contained HTML report: confusion matrix, gallery, pyramid levels`;

const FLAGS = ["member", "val", "size", "synthetic-records", "seed", "batch-size", "workers", "gallery", "json", "report"];

/** What a run folder's config.json says about its data (as harmonize train writes it). */
async function runDataSpec(runDir: string | null): Promise<Partial<DataSpec> | null> {
  if (!runDir) return null;
  const path = `${runDir}/config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return null;
  }
  try {
    return (JSON.parse(text).data ?? null) as Partial<DataSpec> | null;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

interface Validation {
  shards: ShardInput[];
  description: string;
  classNames?: readonly string[];
}

/** The validation split of the embedded dataset that `harmonize train` draws for these settings. */
async function embeddedValidation(size: number, classes: number, embedded: EmbeddedSpec, seed: number): Promise<Validation> {
  if (classes < 2 || classes > SYNTH_CLASS_NAMES.length) {
    throw new UsageError(`the model has ${classes} classes, but the embedded dataset has 2..${SYNTH_CLASS_NAMES.length}: give --val SHARDS`);
  }
  const records = 2 * Math.ceil(embedded.validationRecords / 2);
  return {
    shards: await embeddedShards("val", { embedded, size, classes, seed }),
    description: `embedded validation split (${records} images of ${size}², seed ${seed})`,
    classNames: SYNTH_CLASS_NAMES.slice(0, classes),
  };
}

async function validation(parsed: ParsedArgs, spec: Partial<DataSpec> | null, size: number, classes: number): Promise<Validation> {
  const given = stringFlag(parsed, "val");
  if (given) {
    const shards = given.split(",").map((s) => s.trim()).filter(Boolean);
    return { shards, description: shards.join(", ") };
  }
  if (spec && Array.isArray(spec.val)) return { shards: spec.val, description: spec.val.join(", ") };
  if (spec && spec.val === null) throw new UsageError("the run had no validation data: give --val SHARDS");
  const embedded = parsed.flags.has("synthetic-records") || !spec?.embedded
    ? embeddedSpec(intFlag(parsed, "synthetic-records", MAIN_RECIPE.trainRecords))
    : spec.embedded;
  return embeddedValidation(size, classes, embedded, intFlag(parsed, "seed", spec?.seed ?? 0));
}

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

/** The report of one evaluated checkpoint: the run report's layout with a single member and evaluation. */
async function writeEvalReport(path: string, checkpoint: CheckpointFile, name: string, step: number | undefined, config: Record<string, unknown>, inspection: Inspection) {
  const e = inspection.evaluation;
  const html = renderReport({
    title: `Harmonize evaluation of ${checkpoint.weights}`,
    config,
    members: [name],
    steps: [],
    evals: [{
      type: "eval", member: name, step: step ?? 0, epoch: NaN, accuracy: e.accuracy, alignmentScore: e.alignmentScore,
      spearman: e.spearman, dice: e.dice, iou: e.iou, images: e.images, mapped: e.mapped,
    }],
    skips: [],
    inspections: [{ ...inspection, member: name, ...(step !== undefined ? { step } : {}) }],
  });
  await writeFileAtomic(path, html);
}

export const evalCommand: Command = {
  summary: "evaluate a checkpoint: accuracy and alignment as JSON, optionally an HTML report",
  usage: USAGE,
  async run(args) {
    const parsed = parseArgs(args);
    checkFlags(parsed, FLAGS);
    if (parsed.positional.length !== 1) throw new UsageError(`give exactly one CKPT, got ${parsed.positional.length}`);
    const batchSize = intFlag(parsed, "batch-size", 64);
    if (batchSize < 1) throw new UsageError("--batch-size must be at least 1");
    const checkpoint = await resolveCheckpoint(parsed.positional[0], stringFlag(parsed, "member"));
    const spec = await runDataSpec(checkpoint.runDir);
    const backend = await init();
    const { model, config, file, notes } = await loadModelFile(checkpoint.weights);
    try {
      for (const note of notes) console.error(`note: ${note}`);
      const classes = model.config.classes;
      const imageSize = "imageSize" in model.config ? model.config.imageSize : undefined;
      const size = intFlag(parsed, "size", spec?.size ?? imageSize ?? 32);
      const val = await validation(parsed, spec, size, classes);
      const loader = new Loader({
        datasets: [{ shards: val.shards }], batchSize, workers: intFlag(parsed, "workers", 1), preprocess: { size, blurSize: Math.min(64, size) },
      });
      const inspection = await inspectModel(model, gpuBatches(loader), { classes, classNames: val.classNames, gallery: intFlag(parsed, "gallery", 8) });
      const e = inspection.evaluation;
      const name = file.metadata.member ?? checkpoint.member ?? "model";
      const step = file.metadata.step !== undefined ? Number(file.metadata.step) : undefined;
      const result = {
        checkpoint: checkpoint.weights,
        member: name,
        ...(step !== undefined ? { step } : {}),
        validation: val.description,
        images: e.images,
        accuracy: finiteOrNull(e.accuracy),
        mapped: e.mapped,
        alignmentScore: finiteOrNull(e.alignmentScore),
        spearman: finiteOrNull(e.spearman),
        dice: finiteOrNull(e.dice),
        iou: finiteOrNull(e.iou),
      };
      const json = JSON.stringify(result, null, 2);
      console.log(json);
      const jsonPath = stringFlag(parsed, "json");
      if (jsonPath) await writeFileAtomic(jsonPath, json + "\n");
      const reportPath = stringFlag(parsed, "report");
      if (reportPath) {
        const fields = { ...result, harmonizeVersion: HARMONIZE_VERSION, adapter: backend.adapter, model: config, mode: file.metadata.mode };
        await writeEvalReport(reportPath, checkpoint, name, step, fields, inspection);
        console.error(`wrote ${reportPath}`);
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
};
