// Deno file sink: a shard appears under its name only once it is complete (temp file + rename),
// so an interrupted write never leaves a truncated shard that a later run would trust.

import { type ShardWriteOptions, tfrecordStream } from "./tfrecord_writer.ts";

export async function writeShardFile(
  path: string,
  records: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: ShardWriteOptions = {},
): Promise<void> {
  const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, create: true, truncate: true });
    await tfrecordStream(records, options).pipeTo(file.writable);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}
