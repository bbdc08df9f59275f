// Turning what a user writes (paths, globs, URLs with {a..b} ranges, Blobs) into byte sources.

import { fileSource, globFiles } from "./source_file.ts";
import { blobSource, type ByteSource, urlSource, type UrlSourceOptions } from "./source.ts";

export const CLICKME_BASE_URL = "https://storage.googleapis.com/serrelab/prj_harmonization/dataset/click-me";
/** Shard counts of the published dataset (docs/harmonization.md §2.3); pass a pattern instead if a mirror differs. */
export const CLICKME_SHARD_COUNTS = { train: 318, val: 17 } as const;

/**
 * Expands `{a..b}` integer ranges (zero-padded when `a` is written with leading zeros) and
 * `{x,y,z}` alternatives, left to right: `train-{0..2}.tfrecords` → three names.
 */
export function expandBraces(pattern: string): string[] {
  const match = /\{([^{}]*)\}/.exec(pattern);
  if (!match) return [pattern];
  const head = pattern.slice(0, match.index);
  const tail = pattern.slice(match.index + match[0].length);
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(match[1]);
  let options: string[];
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    const width = range[1].startsWith("0") && range[1].length > 1 ? range[1].length : 0;
    const step = from <= to ? 1 : -1;
    options = [];
    for (let i = from; step > 0 ? i <= to : i >= to; i += step) options.push(String(i).padStart(width, "0"));
  } else options = match[1].split(",");
  return options.flatMap((option) => expandBraces(head + option + tail));
}

/** URLs of the reference ClickMe shards: `<base>/train/train-<i>.tfrecords`, `<base>/val/val-<i>.tfrecords`. */
export function clickmeShardUrls(split: "train" | "val", base = CLICKME_BASE_URL, count: number = CLICKME_SHARD_COUNTS[split]): string[] {
  return expandBraces(`${base}/${split}/${split}-{0..${count - 1}}.tfrecords`);
}

export type ShardInput = string | Blob | ByteSource;

const isUrl = (s: string) => /^(https?|blob|data):/.test(s);

/** Resolves paths and globs (Deno), URLs with brace ranges (fetch), Blobs/Files and ready sources. */
export async function resolveShards(inputs: ShardInput[], urlOptions: UrlSourceOptions = {}): Promise<ByteSource[]> {
  const sources: ByteSource[] = [];
  for (const input of inputs) {
    if (input instanceof Blob) sources.push(blobSource(input));
    else if (typeof input !== "string") sources.push(input);
    else if (isUrl(input)) sources.push(...expandBraces(input).map((url) => urlSource(url, urlOptions)));
    else if (typeof (globalThis as { Deno?: unknown }).Deno === "undefined") {
      throw new Error(`${input}: local paths need Deno; in a browser pass URLs, Files or Blobs`);
    } else {
      for (const pattern of expandBraces(input)) sources.push(...(await globFiles(pattern)).map(fileSource));
    }
  }
  if (sources.length === 0) throw new Error("no shards given");
  return sources;
}
