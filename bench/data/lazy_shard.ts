// A TFRecord shard made on the fly: `count` copies of one record, framed once and enqueued on
// demand, so that gigabytes can be streamed without being stored anywhere.

import { encodeRecord } from "../../src/data/tfrecord_writer.ts";

export function lazyShard(payload: Uint8Array, count: number): ReadableStream<Uint8Array> {
  const framed = encodeRecord(payload);
  let made = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (made++ >= count) return controller.close();
      controller.enqueue(framed.slice());
    },
  }, { highWaterMark: 1 });
}
