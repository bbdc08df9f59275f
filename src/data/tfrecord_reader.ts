// Streaming TFRecord framing: uint64 length · masked CRC32C(length) · data · masked CRC32C(data).
// Memory stays at one record plus the stream's chunks; a length is checked against a maximum
// before anything is allocated for it.

import { ByteReader } from "./byte_reader.ts";
import { crc32c, maskCrc } from "./crc32c.ts";
import { ShardError, type SkippedRecord } from "./errors.ts";

export type Compression = "auto" | "none" | "gzip";
export type BadRecordPolicy = "error" | "skip";

export interface TFRecordReadOptions {
  /** Name used in errors and reports (a path or URL). */
  shard: string;
  /** Longest record accepted; longer length fields are rejected before allocation. */
  maxRecordBytes?: number;
  /** "error" throws a ShardError at the first bad record; "skip" counts it in the report and goes on. */
  onBadRecord?: BadRecordPolicy;
  /** "auto" looks at the first bytes: a valid TFRecord header, else the GZIP magic. */
  compression?: Compression;
  /** Told of each bad record as the "skip" policy passes it (it is also in the report). */
  onSkip?: (skip: SkippedRecord) => void;
}

export interface TFRecord {
  data: Uint8Array;
  /** Position of the record in the shard, counting bad records too. */
  index: number;
  /** Byte offset of the record's header (in the decompressed stream for GZIP shards). */
  offset: number;
}

export interface BadRecord {
  index: number;
  offset: number;
  reason: string;
}

/** What one pass over a shard found; filled in while the records are being read. */
export interface ShardReport {
  shard: string;
  compressed: boolean;
  /** Good records: framing intact and not rejected by a later stage (see `rejectRecord`). */
  records: number;
  /** Data bytes of the good records. */
  bytes: number;
  bad: BadRecord[];
  /** Set when the shard ends inside a record. */
  truncatedTail?: BadRecord;
}

export const DEFAULT_MAX_RECORD_BYTES = 64 << 20;
const HEADER_BYTES = 12;
const GZIP_MAGIC = [0x1f, 0x8b, 0x08];

export function newShardReport(shard: string): ShardReport {
  return { shard, compressed: false, records: 0, bytes: 0, bad: [] };
}

/** A later stage (schema, JPEG) found a framed record bad: it moves from the good count to `bad`. */
export function rejectRecord(report: ShardReport, record: { index: number; offset: number; length: number }, reason: string): void {
  report.records--;
  report.bytes -= record.length;
  report.bad.push({ index: record.index, offset: record.offset, reason });
}

/** One-line summary that never hides a lost record. */
export function describeReport(report: ShardReport): string {
  const parts = [`${report.shard}: ${report.records} records, ${report.bytes} bytes`];
  if (report.compressed) parts.push("gzip");
  if (report.bad.length > 0) {
    const first = report.bad[0];
    parts.push(`${report.bad.length} bad (first: record ${first.index} at byte ${first.offset}: ${first.reason})`);
  }
  if (report.truncatedTail) parts.push(`truncated tail at byte ${report.truncatedTail.offset}`);
  return parts.join(", ");
}

function headerLength(header: Uint8Array): { length: number; crcOk: boolean; exceedsSafe: boolean } {
  const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const crcOk = maskCrc(crc32c(header.subarray(0, 8))) === view.getUint32(8, true);
  return { length: hi * 2 ** 32 + lo, crcOk, exceedsSafe: hi >= 0x200000 };
}

function isGzip(head: Uint8Array): boolean {
  return head.length >= 3 && GZIP_MAGIC.every((b, i) => head[i] === b);
}

async function detectCompression(reader: ByteReader, compression: Compression): Promise<boolean> {
  if (compression !== "auto") return compression === "gzip";
  await reader.fill(HEADER_BYTES);
  const head = reader.peek(HEADER_BYTES);
  if (head.length === HEADER_BYTES && headerLength(head).crcOk) return false;
  return isGzip(head);
}

/**
 * Yields the records of one shard in order. With `onBadRecord: "skip"` a record with a bad data
 * CRC or an over-long length is skipped, a bad length CRC makes the reader scan forward for the
 * next valid header, and a truncated tail or damaged GZIP data ends the shard; each is recorded in
 * `report` and told to `onSkip`. A failing source (a read error, a URL that gave up) stops either policy.
 */
export async function* readTFRecords(
  stream: ReadableStream<Uint8Array>,
  options: TFRecordReadOptions,
  report: ShardReport = newShardReport(options.shard),
): AsyncGenerator<TFRecord> {
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const skipBad = options.onBadRecord === "skip";
  const shard = options.shard;
  const source = new ByteReader(stream);
  let reader = source;
  let index = 0;
  let offset = 0;
  const bad = (at: number, reason: string): void => {
    if (!skipBad) throw new ShardError(shard, index, at, reason);
    report.bad.push({ index, offset: at, reason });
    options.onSkip?.({ type: "skip", shard, record: index, offset: at, reason });
  };
  const truncated = (at: number, reason: string): void => {
    bad(at, reason);
    report.truncatedTail = { index, offset: at, reason };
  };
  try {
    report.compressed = await detectCompression(reader, options.compression ?? "auto");
    if (report.compressed) {
      const inflated = reader.rest().pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>);
      reader = new ByteReader(inflated);
    }
    while (true) {
      offset = reader.offset;
      const got = await reader.fill(HEADER_BYTES);
      if (got === 0) return;
      if (got < HEADER_BYTES) {
        truncated(offset, `truncated: shard ends ${got} bytes into the 12-byte record header`);
        return;
      }
      const { length, crcOk, exceedsSafe } = headerLength(reader.peek(HEADER_BYTES));
      if (!crcOk) {
        bad(offset, "length CRC mismatch (corrupt header)");
        if (!(await resync(reader, maxRecordBytes))) {
          report.truncatedTail = { index, offset, reason: "no valid record header after corrupt header" };
          return;
        }
        index++;
        continue;
      }
      await reader.skip(HEADER_BYTES);
      if (length > maxRecordBytes) {
        const shown = exceedsSafe ? `≥ 2^53` : String(length);
        bad(offset, `length field ${shown} exceeds the maximum record size ${maxRecordBytes}`);
        const wanted = length + 4;
        if ((await reader.skip(wanted)) < wanted) {
          report.truncatedTail = { index, offset, reason: "shard ends inside an over-long record" };
          return;
        }
        index++;
        continue;
      }
      const body = await reader.fill(length + 4);
      if (body < length + 4) {
        truncated(offset, `truncated: shard ends ${body} bytes into a record of ${length} data bytes + 4 CRC bytes`);
        return;
      }
      const data = await reader.read(length);
      const crcBytes = await reader.read(4);
      const stored = new DataView(crcBytes.buffer).getUint32(0, true);
      if (maskCrc(crc32c(data)) !== stored) {
        bad(offset, "data CRC mismatch");
      } else {
        report.records++;
        report.bytes += length;
        yield { data, index, offset };
      }
      index++;
    }
  } catch (e) {
    if (e instanceof ShardError) throw e;
    const detail = e instanceof Error ? e.message : String(e);
    // The source failing (a network that gave up) stops the run under either policy; damaged
    // GZIP data loses the rest of the shard, which the skip policy counts like a truncated tail.
    if (!report.compressed || source.failed) throw new ShardError(shard, index, offset, `stream failed: ${detail}`);
    truncated(offset, `GZIP stream is corrupt or truncated: ${detail}`);
  } finally {
    await reader.cancel();
    await source.cancel();
  }
}

/** Drops bytes one at a time until a header with a valid length CRC and a sane length comes up. */
async function resync(reader: ByteReader, maxRecordBytes: number): Promise<boolean> {
  while (true) {
    await reader.skip(1);
    if ((await reader.fill(HEADER_BYTES)) < HEADER_BYTES) {
      await reader.skip(HEADER_BYTES);
      return false;
    }
    const { length, crcOk } = headerLength(reader.peek(HEADER_BYTES));
    if (crcOk && length <= maxRecordBytes) return true;
  }
}
