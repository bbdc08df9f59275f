// Whole-shard checks for `harmonize shards verify`: every CRC, the Example schema, and the JPEG
// bytes (their header, or a full decode), stopping at — or, with "skip", counting — bad records.

import { parseSample, type RecordLayout } from "./clickme_record.ts";
import { ShardError } from "./errors.ts";
import { decodeExample } from "./example.ts";
import { jpegDecoder, jpegInfo } from "./jpeg.ts";
import type { ByteSource } from "./source.ts";
import { type BadRecordPolicy, newShardReport, readTFRecords, rejectRecord, type ShardReport } from "./tfrecord_reader.ts";

export interface VerifyOptions {
  layout?: RecordLayout;
  /** Decode every JPEG instead of only parsing its frame header. */
  decode?: boolean;
  onBadRecord?: BadRecordPolicy;
  maxRecordBytes?: number;
}

export interface VerifyReport extends ShardReport {
  /** Records per label. */
  labels: Map<number, number>;
}

export async function verifyShard(source: ByteSource, options: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = { ...newShardReport(source.name), labels: new Map() };
  const decoder = options.decode ? await jpegDecoder() : undefined;
  const records = readTFRecords(await source.open(), {
    shard: source.name,
    onBadRecord: options.onBadRecord,
    maxRecordBytes: options.maxRecordBytes,
  }, report);
  for await (const record of records) {
    try {
      const sample = parseSample(decodeExample(record.data), options.layout ?? "clickme");
      for (const [feature, bytes, channels] of [["image", sample.image, 3], ["heatmap", sample.heatmap, 1]] as const) {
        if (!bytes) continue;
        try {
          if (decoder) await decoder(bytes, channels);
          else jpegInfo(bytes);
        } catch (e) {
          throw new Error(`feature '${feature}': ${e instanceof Error ? e.message : e}`);
        }
      }
      report.labels.set(sample.label, (report.labels.get(sample.label) ?? 0) + 1);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (options.onBadRecord !== "skip") throw new ShardError(source.name, record.index, record.offset, reason);
      rejectRecord(report, { ...record, length: record.data.length }, reason);
    }
  }
  return report;
}
