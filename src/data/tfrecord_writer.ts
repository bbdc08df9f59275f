// TFRecord framing on the way out; shards are produced as streams so that any sink (a file, a
// Blob, an upload) can take them, optionally GZIP-compressed as TensorFlow's GZIP option does.

import { crc32c, maskCrc } from "./crc32c.ts";

/** Frames one record: length, masked CRC of the length, data, masked CRC of the data. */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length % 2 ** 32, true);
  view.setUint32(4, Math.floor(data.length / 2 ** 32), true);
  view.setUint32(8, maskCrc(crc32c(out.subarray(0, 8))), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskCrc(crc32c(data)), true);
  return out;
}

export interface ShardWriteOptions {
  gzip?: boolean;
}

/** A shard as a byte stream, pulling records lazily from `records`. */
export function tfrecordStream(
  records: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: ShardWriteOptions = {},
): ReadableStream<Uint8Array> {
  const iterator = Symbol.asyncIterator in records
    ? (records as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
    : (records as Iterable<Uint8Array>)[Symbol.iterator]();
  const framed = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(encodeRecord(next.value));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  if (!options.gzip) return framed;
  return framed.pipeThrough(new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>);
}

/** A whole shard in memory, e.g. for a Blob in a browser or a test. */
export async function tfrecordBytes(
  records: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: ShardWriteOptions = {},
): Promise<Uint8Array> {
  return new Uint8Array(await new Response(tfrecordStream(records, options)).arrayBuffer());
}
