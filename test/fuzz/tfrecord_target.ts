// Fuzz target: TFRecord framing, plain and GZIP, read in random chunk sizes under both policies.
// The oracle is a whole-buffer reference reader: with "error" the streaming reader must yield the
// same records and stop with a ShardError at the same record and offset; with "skip" every record
// it yields must be the bytes at its offset, CRC-checked, and the report must add up.

import { crc32c, maskCrc } from "../../src/data/crc32c.ts";
import { ShardError } from "../../src/data/errors.ts";
import { newShardReport, readTFRecords, type TFRecord } from "../../src/data/tfrecord_reader.ts";
import { encodeRecord } from "../../src/data/tfrecord_writer.ts";
import type { Random } from "../../src/data/random.ts";
import { check, chunkedStream, concat, type FuzzTarget, HUGE_LENGTHS, mutateBytes, namedError, type Outcome, pick } from "./fuzz.ts";

const SHARD = "fuzz.tfrecords";

/** A valid shard of 1–6 records of 0–300 bytes. */
function validFraming(random: Random): Uint8Array {
  const records = Array.from({ length: 1 + random.int(6) }, () => new Uint8Array(random.int(300)).map(() => random.int(256)));
  return concat(...records.map(encodeRecord));
}

/** Rewrites one record's length field and re-signs it, so the reader believes the length. */
function forgeLength(random: Random, shard: Uint8Array): Uint8Array {
  const starts: number[] = [];
  for (let at = 0; at + 12 <= shard.length;) {
    starts.push(at);
    const view = new DataView(shard.buffer, shard.byteOffset + at);
    at += 16 + view.getUint32(0, true);
  }
  if (starts.length === 0) return shard;
  const at = pick(random, starts);
  const out = shard.slice();
  const view = new DataView(out.buffer, at);
  const current = view.getUint32(0, true);
  const length = random.int(2) ? pick(random, HUGE_LENGTHS) : BigInt(Math.max(0, current + random.int(41) - 20));
  view.setBigUint64(0, length, true);
  view.setUint32(8, maskCrc(crc32c(out.subarray(at, at + 8))), true);
  return out;
}

interface Reference {
  records: { offset: number; data: Uint8Array }[];
  /** Where the "error" policy must stop, if anywhere. */
  error?: { index: number; offset: number };
}

/** The framing rules read straight off a whole buffer. */
function referenceRead(bytes: Uint8Array, maxRecordBytes: number): Reference {
  const records: Reference["records"] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0, index = 0; at < bytes.length; index++) {
    const fail = { records, error: { index, offset: at } };
    if (bytes.length - at < 12) return fail;
    if (maskCrc(crc32c(bytes.subarray(at, at + 8))) !== view.getUint32(at + 8, true)) return fail;
    const length = view.getUint32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
    if (length > maxRecordBytes || bytes.length - at - 12 < length + 4) return fail;
    const data = bytes.subarray(at + 12, at + 12 + length);
    if (maskCrc(crc32c(data)) !== view.getUint32(at + 12 + length, true)) return fail;
    records.push({ offset: at, data });
    at += 16 + length;
  }
  return { records };
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

export const tfrecordTarget: FuzzTarget = {
  name: "tfrecord",
  setup: () => Promise.resolve(),
  async one(random, iteration) {
    const gzip = random.int(3) === 0;
    let inner = validFraming(random);
    const mutation = random.int(8);
    if (mutation < 2) inner = forgeLength(random, inner);
    else if (mutation < 7) inner = mutateBytes(random, inner);
    // GZIP: either the framing inside is damaged (above) or the compressed bytes themselves.
    let outer = gzip ? await gzipBytes(inner) : inner;
    const damagedGzip = gzip && random.int(2) === 0;
    if (damagedGzip) outer = mutateBytes(random, outer);
    const maxRecordBytes = pick(random, [64 << 20, 64 << 20, 64 << 20, 200]);
    const policy = random.int(2) ? "error" : "skip";
    const compression = gzip ? pick(random, ["gzip", "auto"] as const) : pick(random, ["none", "auto"] as const);
    const label = `${SHARD} input ${iteration} (${gzip ? "gzip" : "plain"}, ${policy}, max ${maxRecordBytes})`;
    const report = newShardReport(SHARD);
    const yielded: TFRecord[] = [];
    let error: unknown;
    try {
      for await (const record of readTFRecords(chunkedStream(random, outer), { shard: SHARD, maxRecordBytes, onBadRecord: policy, compression }, report)) {
        yielded.push(record);
      }
    } catch (e) {
      error = e;
    }
    if (error !== undefined && !(error instanceof ShardError)) return namedError(error, /^$/, label);
    // Auto-detection legitimately reads damaged plain bytes that start with the GZIP magic as GZIP.
    const known = !damagedGzip && !(compression === "auto" && report.compressed !== gzip);
    for (const record of yielded) {
      const at = record.offset + 12;
      check(!known || sameBytes(record.data, inner.subarray(at, at + record.data.length)), `${label}: record ${record.index} differs from the shard bytes at ${record.offset}`);
    }
    check(report.records === yielded.length, `${label}: report counts ${report.records} records, ${yielded.length} yielded`);
    if (known && policy === "error") {
      const expected = referenceRead(inner, maxRecordBytes);
      check(yielded.length === expected.records.length && yielded.every((r, i) => r.offset === expected.records[i].offset),
        `${label}: yielded records at [${yielded.map((r) => r.offset)}], the framing has [${expected.records.map((r) => r.offset)}]`);
      if (expected.error) {
        check(error instanceof ShardError, `${label}: no error, the framing breaks at byte ${expected.error.offset}`);
        check(error.record === expected.error.index && error.offset === expected.error.offset,
          `${label}: error at record ${error.record} byte ${error.offset}, the framing breaks at record ${expected.error.index} byte ${expected.error.offset}: ${error.message}`);
      } else check(error === undefined, `${label}: valid framing rejected: ${error}`);
    }
    if (policy === "skip" && known) {
      for (const bad of report.bad) check(bad.offset <= inner.length, `${label}: bad record offset ${bad.offset} past the ${inner.length} bytes`);
    }
    if (error instanceof ShardError) {
      check(error.shard === SHARD && error.message.startsWith(`${SHARD}: record ${error.record} at byte ${error.offset}: `), `${label}: error does not name the shard: ${error.message}`);
      return namedError(error, /record \d+ at byte \d+/, label);
    }
    return report.bad.length > 0 || report.truncatedTail ? { ok: false, kind: `skipped: ${report.bad[0]?.reason.replace(/\d+/g, "N") ?? "tail"}` } : { ok: true } as Outcome;
  },
};

async function gzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
