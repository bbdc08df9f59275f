/** A bad record, named by shard, record index and byte offset so that it can be found with a hex editor. */
export class ShardError extends Error {
  override name = "ShardError";
  constructor(
    readonly shard: string,
    readonly record: number,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${shard}: record ${record} at byte ${offset}: ${reason}`);
  }
}

/** A bad record passed over under the skip policy, in the shape a run log writes it. */
export interface SkippedRecord {
  type: "skip";
  shard: string;
  record: number;
  offset: number;
  reason: string;
}
