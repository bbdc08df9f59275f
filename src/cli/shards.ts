// `harmonize shards verify|inspect|write|convert|synth`: tools for TFRecord shards.

import { encodeSample, parseSample, type RecordLayout } from "../data/clickme_record.ts";
import { decodeExample, type Features } from "../data/example.ts";
import { jpegInfo } from "../data/jpeg.ts";
import { writeShardFile } from "../data/shard_file.ts";
import { resolveShards } from "../data/shard_list.ts";
import { synthShardName, synthShardRecords, type SynthShardOptions } from "../data/synthetic.ts";
import { DEFAULT_MAX_RECORD_BYTES, describeReport, newShardReport, readTFRecords } from "../data/tfrecord_reader.ts";
import { verifyShard } from "../data/verify.ts";
import { checkFlags, type Command, intFlag, parseArgs, type ParsedArgs, stringFlag, UsageError } from "./command.ts";

const USAGE = `usage: harmonize shards <subcommand>
  verify  <shard|glob|url>... [--layout clickme|images] [--decode] [--skip-bad] [--max-record-bytes N]
          check every CRC, the Example schema and the JPEGs; exit 1 naming the first bad record
  inspect <shard> [--limit N] [--layout clickme|images]
          print the first N records' features, then per-shard counts and labels
  write   <manifest.csv> --out <file.tfrecords> [--gzip]
          one record per CSV line "image.jpg,heatmap.jpg,label" (heatmap empty for plain images)
  convert <shard|glob>... --out <dir> [--gzip] [--skip-bad]
          re-frame shards into <dir>, compressing with --gzip or decompressing without it
  synth   --out <dir> [--size 64] [--classes 4] [--train-shards 4] [--val-shards 1]
          [--per-shard 256] [--shortcut] [--gzip] [--seed 0]
          write the embedded ClickMe-style dataset as JPEG TFRecord shards`;

function layoutFlag(parsed: ParsedArgs): RecordLayout {
  const layout = stringFlag(parsed, "layout", "clickme");
  if (layout !== "clickme" && layout !== "images") throw new UsageError(`--layout must be clickme or images, got ${layout}`);
  return layout;
}

function requireOut(parsed: ParsedArgs): string {
  const out = stringFlag(parsed, "out");
  if (!out) throw new UsageError("--out is required");
  return out;
}

async function verify(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ["decode", "skip-bad"]);
  checkFlags(parsed, ["layout", "decode", "skip-bad", "max-record-bytes"]);
  if (parsed.positional.length === 0) throw new UsageError("verify needs at least one shard");
  const sources = await resolveShards(parsed.positional);
  let records = 0, bad = 0;
  for (const source of sources) {
    const report = await verifyShard(source, {
      layout: layoutFlag(parsed),
      decode: parsed.flags.has("decode"),
      onBadRecord: parsed.flags.has("skip-bad") ? "skip" : "error",
      maxRecordBytes: intFlag(parsed, "max-record-bytes", DEFAULT_MAX_RECORD_BYTES),
    });
    records += report.records;
    bad += report.bad.length;
    console.log(`${report.bad.length || report.truncatedTail ? "BAD" : "ok "} ${describeReport(report)}`);
  }
  console.log(`${sources.length} shard(s), ${records} good records, ${bad} bad`);
  return bad > 0 ? 1 : 0;
}

function describeFeatures(features: Features): string {
  return [...features].map(([name, f]) => {
    if (f.kind !== "bytes") return `${name}=${f.kind}[${f.values.slice(0, 4).join(",")}${f.values.length > 4 ? ",…" : ""}]`;
    return `${name}=` + f.values.map((bytes) => {
      try {
        const info = jpegInfo(bytes);
        return `JPEG ${info.width}×${info.height}×${info.components} (${bytes.length} B)`;
      } catch {
        return `bytes (${bytes.length} B)`;
      }
    }).join(",");
  }).join("  ");
}

async function inspect(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  checkFlags(parsed, ["limit", "layout"]);
  if (parsed.positional.length === 0) throw new UsageError("inspect needs a shard");
  const limit = intFlag(parsed, "limit", 5);
  for (const source of await resolveShards(parsed.positional)) {
    const report = newShardReport(source.name);
    const labels = new Map<number, number>();
    let shown = 0;
    for await (const record of readTFRecords(await source.open(), { shard: source.name, onBadRecord: "skip" }, report)) {
      let features: Features;
      try {
        features = decodeExample(record.data);
        const { label } = parseSample(features, layoutFlag(parsed));
        labels.set(label, (labels.get(label) ?? 0) + 1);
      } catch (e) {
        console.log(`#${record.index} @${record.offset}: ${e instanceof Error ? e.message : e}`);
        continue;
      }
      if (shown++ < limit) console.log(`#${record.index} @${record.offset} ${record.data.length} B  ${describeFeatures(features)}`);
    }
    console.log(describeReport(report));
    const sorted = [...labels].sort((a, b) => a[0] - b[0]);
    console.log(`labels: ${sorted.length} distinct: ${sorted.slice(0, 20).map(([l, n]) => `${l}×${n}`).join(" ")}${sorted.length > 20 ? " …" : ""}`);
  }
  return 0;
}

function parseCsvLine(line: string): string[] {
  return line.split(",").map((cell) => cell.trim());
}

async function write(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ["gzip"]);
  checkFlags(parsed, ["out", "gzip"]);
  const out = requireOut(parsed);
  const [manifest] = parsed.positional;
  if (!manifest) throw new UsageError("write needs a manifest CSV");
  const dir = manifest.includes("/") ? manifest.slice(0, manifest.lastIndexOf("/") + 1) : "";
  const lines = (await Deno.readTextFile(manifest)).split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  async function* records() {
    for (const [i, line] of lines.entries()) {
      const [imagePath, heatmapPath, labelText] = parseCsvLine(line);
      const where = `${manifest} line ${i + 1}`;
      const label = Number(labelText);
      if (!imagePath || !Number.isInteger(label)) throw new Error(`${where}: expected "image,heatmap,label", got "${line}"`);
      const read = async (path: string, feature: string) => {
        const bytes = await Deno.readFile(path.startsWith("/") ? path : dir + path);
        try {
          jpegInfo(bytes);
        } catch (e) {
          throw new Error(`${where}: ${feature} ${path}: ${e instanceof Error ? e.message : e}`);
        }
        return bytes;
      };
      yield encodeSample({
        image: await read(imagePath, "image"),
        heatmap: heatmapPath ? await read(heatmapPath, "heatmap") : undefined,
        label,
      });
    }
  }
  await writeShardFile(out, records(), { gzip: parsed.flags.has("gzip") });
  console.log(`wrote ${lines.length} records to ${out}`);
  return 0;
}

async function convert(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ["gzip", "skip-bad"]);
  checkFlags(parsed, ["out", "gzip", "skip-bad"]);
  const out = requireOut(parsed);
  const gzip = parsed.flags.has("gzip");
  await Deno.mkdir(out, { recursive: true });
  for (const source of await resolveShards(parsed.positional)) {
    const base = source.name.slice(source.name.lastIndexOf("/") + 1).replace(/\.gz$/, "");
    const target = `${out}/${base}${gzip ? ".gz" : ""}`;
    const report = newShardReport(source.name);
    const options = { shard: source.name, onBadRecord: parsed.flags.has("skip-bad") ? "skip" as const : "error" as const };
    const data = async function* () {
      for await (const record of readTFRecords(await source.open(), options, report)) yield record.data;
    };
    await writeShardFile(target, data(), { gzip });
    console.log(`${target}: ${describeReport(report)}`);
  }
  return 0;
}

async function synth(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ["shortcut", "gzip"]);
  checkFlags(parsed, ["out", "size", "classes", "train-shards", "val-shards", "per-shard", "shortcut", "gzip", "seed"]);
  const out = requireOut(parsed);
  await Deno.mkdir(out, { recursive: true });
  for (const split of ["train", "val"] as const) {
    const options: SynthShardOptions = {
      split,
      size: intFlag(parsed, "size", 64),
      classes: intFlag(parsed, "classes", 4),
      shortcut: parsed.flags.has("shortcut"),
      seed: intFlag(parsed, "seed", 0),
      shards: intFlag(parsed, split === "train" ? "train-shards" : "val-shards", split === "train" ? 4 : 1),
      recordsPerShard: intFlag(parsed, "per-shard", 256),
      gzip: parsed.flags.has("gzip"),
    };
    for (let shard = 0; shard < options.shards; shard++) {
      const path = `${out}/${synthShardName(split, shard, options.gzip)}`;
      await writeShardFile(path, synthShardRecords(shard, options), { gzip: options.gzip });
      console.log(`wrote ${path} (${options.recordsPerShard} records)`);
    }
  }
  return 0;
}

const subcommands: Record<string, (args: string[]) => Promise<number>> = { verify, inspect, write, convert, synth };

export const shardsCommand: Command = {
  summary: "verify, inspect, write, convert TFRecord shards; synth writes the embedded dataset",
  usage: USAGE,
  async run(args) {
    const [name, ...rest] = args;
    if (name === undefined || name === "help") {
      console.log(USAGE);
      return name === undefined ? 2 : 0;
    }
    const sub = subcommands[name];
    if (!sub) throw new UsageError(`unknown subcommand '${name}' (one of ${Object.keys(subcommands).join(", ")})`);
    return await sub(rest);
  },
};
