/**
 * What a report is built from: a run folder's config.json, metrics.jsonl and
 * inspection/<member>.json (see docs/reports.md), read through the run's storage and checked here
 * without any file-system API, so that the browser, which keeps its runs in OPFS, builds the very
 * same report.
 */
import type { Inspection } from "../harmonize/inspect.ts";
import type { EvalEvent, SkipEvent, StepEvent } from "../run/events.ts";
import type { RunStorage } from "../run/storage.ts";

/** A line of metrics.jsonl: the run's step, eval and skip events as harmonize train logs them. */
export type StepRecord = StepEvent;
export type EvalRecord = EvalEvent;
export type SkipRecord = SkipEvent;

/** inspection/<member>.json: `inspectModel`'s result with the member and step it belongs to. */
export interface InspectionRecord extends Inspection {
  member: string;
  step?: number;
  epoch?: number;
}

export interface ReportData {
  /** Shown as the report's heading (the run folder's name). */
  title: string;
  config: Record<string, unknown>;
  /** Member names in display order. */
  members: string[];
  steps: StepRecord[];
  evals: EvalRecord[];
  skips: SkipRecord[];
  inspections: InspectionRecord[];
}

const REQUIRED_NUMBERS: Record<"step" | "eval", string[]> = {
  step: ["step", "total", "crossEntropy", "harmonization", "weightL2"],
  eval: ["step", "accuracy", "alignmentScore", "spearman", "dice", "iou"],
};

/**
 * Parses metrics.jsonl; `source` (its path) names the line of any error. A last line without its
 * newline that does not parse is a write cut short by a kill and is dropped; lines of other types
 * are ignored, so newer writers do not break older readers. Non-finite values arrive as null.
 */
export function parseMetrics(text: string, source = "metrics.jsonl"): Pick<ReportData, "steps" | "evals" | "skips"> {
  const out: Pick<ReportData, "steps" | "evals" | "skips"> = { steps: [], evals: [], skips: [] };
  const lines = text.split("\n");
  lines.forEach((line, index) => {
    if (!line.trim()) return;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line);
    } catch (e) {
      if (index === lines.length - 1) return;
      throw new Error(`${source}:${index + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof record !== "object" || record === null || Array.isArray(record)) throw new Error(`${source}:${index + 1}: not a JSON object`);
    const type = record.type;
    if (type === "step" || type === "eval") {
      if (typeof record.member !== "string") throw new Error(`${source}:${index + 1}: a ${type} record needs a "member" string`);
      for (const key of REQUIRED_NUMBERS[type]) {
        if (typeof record[key] !== "number" && record[key] !== null) throw new Error(`${source}:${index + 1}: "${key}" must be a number`);
      }
      if (type === "step") out.steps.push(record as unknown as StepRecord);
      else out.evals.push(record as unknown as EvalRecord);
    } else if (type === "skip") {
      out.skips.push(record as unknown as SkipRecord);
    }
  });
  return out;
}

/** Checks the parts of an inspection file the report draws; `source` names the file in errors. */
export function parseInspection(text: string, source: string): InspectionRecord {
  let record: InspectionRecord;
  try {
    record = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof record !== "object" || record === null) throw new Error(`${source}: not a JSON object`);
  if (typeof record.member !== "string") throw new Error(`${source}: needs a "member" string`);
  const k = record.classes;
  if (!Array.isArray(record.confusion) || record.confusion.length !== k || record.confusion.some((row) => !Array.isArray(row) || row.length !== k)) {
    throw new Error(`${source}: "confusion" must be ${k}×${k} (classes ${k})`);
  }
  if (!Array.isArray(record.gallery)) throw new Error(`${source}: "gallery" must be a list`);
  return record;
}

/** Members in the config's order, then any that only the metrics or inspections name. */
export function memberNames(config: Record<string, unknown>, named: Iterable<string>): string[] {
  const out: string[] = [];
  const members = Array.isArray(config.members) ? config.members : [];
  for (const m of members) if (typeof m?.name === "string" && !out.includes(m.name)) out.push(m.name);
  for (const name of named) if (!out.includes(name)) out.push(name);
  return out;
}

/** What the report reads a run folder through: the reading half of the run's storage. */
export type ReportSource = Pick<RunStorage, "read" | "describe">;

/** Everything the report needs from a run folder: config.json is required, the rest may not exist yet. */
export async function readReportData(source: ReportSource, title: string): Promise<ReportData> {
  const decoder = new TextDecoder();
  const text = async (path: string) => {
    const bytes = await source.read(path);
    return bytes === null ? null : decoder.decode(bytes);
  };
  const configText = await text("config.json");
  if (configText === null) throw new Error(`not a run folder: ${source.describe("config.json")} does not exist`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(configText);
  } catch (e) {
    throw new Error(`${source.describe("config.json")}: not valid JSON (${(e as Error).message})`);
  }
  const metrics = parseMetrics((await text("metrics.jsonl")) ?? "", source.describe("metrics.jsonl"));
  const members = memberNames(config, [...metrics.steps, ...metrics.evals].map((r) => r.member));
  const inspections: InspectionRecord[] = [];
  for (const member of members) {
    const path = `inspection/${member}.json`;
    const found = await text(path);
    if (found !== null) inspections.push(parseInspection(found, source.describe(path)));
  }
  return { title, config, members, ...metrics, inspections };
}
