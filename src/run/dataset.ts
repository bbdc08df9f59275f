/**
 * The data a run was given, as config.json keeps it (`data`), and the batches it makes: shard
 * paths, globs or URLs, or the embedded dataset drawn from the seed with the recipe's options. A
 * resumed run, `harmonize eval` and the browser rebuild the very same batches from it.
 */
import { type AugmentOptions, INCEPTION_AUGMENT } from "../data/augment.ts";
import type { DatasetSpec } from "../data/loader.ts";
import type { SkippedRecord } from "../data/errors.ts";
import { resolveShards, type ShardInput } from "../data/shard_list.ts";
import { bytesSource } from "../data/source.ts";
import { SYNTH_CLASS_NAMES, synthShards } from "../data/synthetic.ts";
import { countRecords, loaderData, type RunData } from "./data.ts";
import { type EmbeddedDataOptions, MAIN_RECIPE } from "./recipe.ts";

export interface EmbeddedSpec {
  trainRecords: number;
  validationRecords: number;
  options: EmbeddedDataOptions;
}

export interface DataSpec {
  /** Shard inputs, or "embedded" for the built-in dataset drawn from the seed. */
  train: string[] | "embedded";
  val: string[] | "embedded" | null;
  /** Plain labelled images mixed in (layout "images"), with their share of the mix. */
  images: string[];
  imagesWeight: number;
  size: number;
  classes: number;
  /** The embedded dataset's sizes and drawing options, when it is used. */
  embedded: EmbeddedSpec | null;
  augment: AugmentOptions | false;
  seed: number;
  skipCorrupt: boolean;
  workers: number;
  /** Records in one pass over the training data, null for streams. */
  records: number | null;
}

/** The embedded dataset as the recipe draws it, with `trainRecords` training images. */
export function embeddedSpec(trainRecords = MAIN_RECIPE.trainRecords): EmbeddedSpec {
  const validationRecords = Math.max(1, Math.round((trainRecords * MAIN_RECIPE.validationRecords) / MAIN_RECIPE.trainRecords));
  return { trainRecords, validationRecords, options: MAIN_RECIPE.data };
}

/** Training on shards gets Inception-style crops and flips; the embedded dataset the recipe's. */
export function defaultAugment(embedded: boolean): AugmentOptions | false {
  return embedded ? MAIN_RECIPE.augment : INCEPTION_AUGMENT;
}

const isUrl = (s: string) => /^(https?|blob|data):/.test(s);

/** Class names of the embedded dataset (for reports), when the run uses it. */
export function classNames(spec: DataSpec): readonly string[] | undefined {
  return spec.train === "embedded" ? SYNTH_CLASS_NAMES.slice(0, spec.classes) : undefined;
}

/** One split of the embedded dataset, in memory, exactly as the run trained or evaluated on it. */
export async function embeddedShards(split: "train" | "val", spec: Pick<DataSpec, "embedded" | "size" | "classes" | "seed">): Promise<ShardInput[]> {
  if (!spec.embedded) throw new Error("this run does not use the embedded dataset");
  if (spec.classes < 2 || spec.classes > SYNTH_CLASS_NAMES.length) {
    throw new Error(`the embedded dataset has 2..${SYNTH_CLASS_NAMES.length} classes, not ${spec.classes}`);
  }
  const records = split === "train" ? spec.embedded.trainRecords : spec.embedded.validationRecords;
  const shards = await synthShards({
    ...spec.embedded.options, split, size: spec.size, classes: spec.classes, shards: 2, recordsPerShard: Math.ceil(records / 2), seed: spec.seed,
  });
  return shards.map(({ name, bytes }) => bytesSource(bytes, name));
}

/** The validation shards of a run, or null when it had none. */
export async function validationShards(spec: DataSpec): Promise<ShardInput[] | null> {
  return spec.val === "embedded" ? await embeddedShards("val", spec) : spec.val;
}

/** Records in one pass over the training data (framing only), or null when a shard is a URL. */
export async function countTrainingRecords(spec: DataSpec): Promise<number | null> {
  if (spec.train === "embedded") return 2 * Math.ceil(spec.embedded!.trainRecords / 2);
  const inputs = [...spec.train, ...spec.images];
  if (inputs.some(isUrl)) return null;
  return await countRecords(await resolveShards(inputs), spec.skipCorrupt ? "skip" : "error");
}

/**
 * The batches of a run, from its data spec (the same on every resume). Under the skip policy
 * each record passed over is told to `onSkip` as it happens.
 */
export async function runData(spec: DataSpec, batchSize: number, onSkip?: (skip: SkippedRecord) => void): Promise<RunData> {
  const preprocess = { size: spec.size, blurSize: Math.min(64, spec.size) };
  const policy = {
    onBadRecord: spec.skipCorrupt ? "skip" as const : "error" as const,
    onSkip,
    onShardDone: () => {}, // each skip was told as it happened
    classes: spec.classes,
  };
  const train: DatasetSpec[] = [{
    shards: spec.train === "embedded" ? await embeddedShards("train", spec) : spec.train,
    weight: 1 - spec.imagesWeight,
  }];
  if (spec.images.length) train.push({ shards: spec.images, layout: "images", weight: spec.imagesWeight });
  const val = await validationShards(spec);
  return loaderData({
    train: { datasets: train, dropRemainder: true, shuffleBuffer: 1024, workers: spec.workers, preprocess, augment: spec.augment, ...policy },
    validation: val ? { datasets: [{ shards: val }], batchSize: Math.max(batchSize, 64), workers: spec.workers, preprocess, ...policy } : undefined,
    seed: spec.seed,
    records: spec.records,
  });
}
