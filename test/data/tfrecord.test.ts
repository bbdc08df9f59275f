import { assert, assertEquals, assertRejects, test } from "../harness.ts";
import { crc32c, maskCrc } from "../../src/data/crc32c.ts";
import { ShardError } from "../../src/data/errors.ts";
import { newShardReport, readTFRecords, type TFRecordReadOptions } from "../../src/data/tfrecord_reader.ts";
import { encodeRecord, tfrecordBytes } from "../../src/data/tfrecord_writer.ts";

/** A stream handing out `bytes` in pieces of `chunk` bytes, to exercise records split across chunks. */
function streamOf(bytes: Uint8Array, chunk = 7): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

function payloads(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(i * 13).map((_, j) => (i * 31 + j) & 255));
}

async function readAll(bytes: Uint8Array, options: Partial<TFRecordReadOptions> = {}, chunk = 7) {
  const report = newShardReport("test.tfrecords");
  const records = [];
  for await (const r of readTFRecords(streamOf(bytes, chunk), { shard: "test.tfrecords", ...options }, report)) records.push(r);
  return { records, report };
}

test("data/crc32c: check value and TFRecord mask", () => {
  assertEquals(crc32c(new TextEncoder().encode("123456789")).toString(16), "e3069283");
  assertEquals(crc32c(new Uint8Array(0)), 0);
  // mask(0) = rotate(0) + 0xa282ead8
  assertEquals(maskCrc(0), 0xa282ead8);
  const crc = 0x12345678;
  assertEquals(maskCrc(crc), ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

test("data/tfrecord: round trip, records split across 1- and 7-byte chunks, empty record", async () => {
  const data = payloads(12);
  const shard = await tfrecordBytes(data);
  for (const chunk of [1, 7, 1 << 20]) {
    const { records, report } = await readAll(shard, {}, chunk);
    assertEquals(records.length, 12);
    records.forEach((r, i) => {
      assertEquals([...r.data], [...data[i]]);
      assertEquals(r.index, i);
    });
    assertEquals(records[1].offset, 16 + 0);
    assertEquals(report.records, 12);
    assertEquals(report.bad.length, 0);
  }
});

test("data/tfrecord: GZIP shards are detected and read; explicit gzip on a plain shard fails clearly", async () => {
  const data = payloads(5);
  const gz = await tfrecordBytes(data, { gzip: true });
  assertEquals([gz[0], gz[1]], [0x1f, 0x8b]);
  const { records, report } = await readAll(gz);
  assertEquals(records.length, 5);
  assert(report.compressed);
  assertEquals([...records[4].data], [...data[4]]);
  const plain = await tfrecordBytes(data);
  await assertRejects(() => readAll(plain, { compression: "gzip" }), /test\.tfrecords: record 0 at byte 0: GZIP stream is corrupt/);
});

test("data/tfrecord: a flipped data bit is an error naming shard, record and offset — or a counted skip", async () => {
  const data = payloads(4);
  const shard = await tfrecordBytes(data);
  const third = encodeRecord(data[0]).length + encodeRecord(data[1]).length;
  shard[third + 12 + 3] ^= 0x10;
  const error = await assertRejects(() => readAll(shard), /test\.tfrecords: record 2 at byte 45: data CRC mismatch/);
  assert(error instanceof ShardError && error.record === 2 && error.offset === third);
  const { records, report } = await readAll(shard, { onBadRecord: "skip" });
  assertEquals(records.map((r) => r.index), [0, 1, 3]);
  assertEquals(report.bad, [{ index: 2, offset: third, reason: "data CRC mismatch" }]);
});

test("data/tfrecord: a corrupt length header is reported; skip resynchronises on the next record", async () => {
  const shard = await tfrecordBytes(payloads(4));
  const second = encodeRecord(payloads(1)[0]).length;
  shard[second + 2] ^= 0x01;
  await assertRejects(() => readAll(shard), /record 1 at byte 16: length CRC mismatch/);
  const { records, report } = await readAll(shard, { onBadRecord: "skip" });
  assertEquals(records.map((r) => r.index), [0, 2, 3]);
  assertEquals(report.bad.length, 1);
});

test("data/tfrecord: a truncated tail is an error, or reported under skip — never silent", async () => {
  const shard = await tfrecordBytes(payloads(3));
  const cut = shard.subarray(0, shard.length - 5);
  await assertRejects(() => readAll(cut), /record 2 at byte \d+: truncated: shard ends 25 bytes into a record of 26 data bytes/);
  const { records, report } = await readAll(cut, { onBadRecord: "skip" });
  assertEquals(records.length, 2);
  assert(report.truncatedTail?.index === 2, "truncated tail recorded");
  const headerCut = shard.subarray(0, 16 + 5);
  await assertRejects(() => readAll(headerCut), /record 1 at byte 16: truncated: shard ends 5 bytes into the 12-byte record header/);
});

test("data/tfrecord: a 2^63 length field is refused before allocation, with or without a valid CRC", async () => {
  const header = new Uint8Array(12 + 8);
  const view = new DataView(header.buffer);
  view.setUint32(4, 0x80000000, true); // length = 2^63
  view.setUint32(8, maskCrc(crc32c(header.subarray(0, 8))), true);
  await assertRejects(() => readAll(header), /record 0 at byte 0: length field ≥ 2\^53 exceeds the maximum record size 67108864/);
  const skipped = await readAll(header, { onBadRecord: "skip" });
  assertEquals(skipped.records.length, 0);
  assert(skipped.report.truncatedTail !== undefined, "the over-long record runs past the end");
  view.setUint32(8, 12345, true);
  await assertRejects(() => readAll(header), /length CRC mismatch/);
  // A plausible but too-long length under a small maximum.
  const shard = await tfrecordBytes([new Uint8Array(1000)]);
  await assertRejects(() => readAll(shard, { maxRecordBytes: 999 }), /length field 1000 exceeds the maximum record size 999/);
});

test("data/tfrecord: empty shard has no records and no complaint", async () => {
  const { records, report } = await readAll(new Uint8Array(0));
  assertEquals(records.length, 0);
  assertEquals(report.bad.length, 0);
});

test("data/tfrecord: a corrupt GZIP stream is a clear error, not a hang", async () => {
  const gz = await tfrecordBytes(payloads(20), { gzip: true });
  gz[gz.length >> 1] ^= 0xff;
  gz[(gz.length >> 1) + 1] ^= 0xff;
  await assertRejects(() => readAll(gz), /GZIP stream is corrupt or truncated|CRC mismatch/);
});

test("data/tfrecord: damaged GZIP under skip is a counted tail; a failing source stops either policy (found by test/fuzz)", async () => {
  // Before: under skip, the decompressor's TypeError escaped from the skip/resync paths unnamed.
  const gz = await tfrecordBytes(payloads(40), { gzip: true });
  gz[gz.length >> 1] ^= 0xff;
  gz[(gz.length >> 1) + 1] ^= 0xff;
  const seen: string[] = [];
  const { records, report } = await readAll(gz, { onBadRecord: "skip", onSkip: (b) => seen.push(`${b.shard}#${b.record}@${b.offset}`) });
  assert(records.length < 40, `${records.length} records`);
  assert(report.truncatedTail !== undefined && /GZIP stream is corrupt or truncated/.test(report.truncatedTail.reason), JSON.stringify(report.truncatedTail));
  assertEquals(seen.length, report.bad.length);
  assert(seen.every((s) => s.startsWith("test.tfrecords#")), seen.join());
  const failing = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encodeRecord(new Uint8Array(5)));
    },
    pull(controller) {
      controller.error(new Error("connection reset"));
    },
  });
  const error = await assertRejects(async () => {
    for await (const _ of readTFRecords(failing, { shard: "net.tfrecords", onBadRecord: "skip" })) { /* drain */ }
  }, /net\.tfrecords: record 1 at byte 21: stream failed: connection reset/);
  assert(error instanceof ShardError);
});
