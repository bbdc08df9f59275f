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
