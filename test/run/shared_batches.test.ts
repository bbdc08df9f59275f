/**
 * One pass over a batch stream shared by concurrent consumers (the members of an evaluation): every
 * item made once and seen by every consumer in order, released after its last use with at most one
 * held at a time, and consumers that stop early or fail do not hold up the others.
 */
import { shareBatches } from "../../src/run/shared_batches.ts";
import { assert, assertEquals, assertRejects, test } from "../harness.ts";

/** A source of `count` items that records what it made and released, and how many lived at once. */
function counted(count: number, failAt = -1) {
  const log = { made: 0, released: [] as number[], live: 0, mostLive: 0 };
  async function* source() {
    for (let i = 0; i < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (i === failAt) throw new Error(`item ${i} is unreadable`);
      log.made++;
      log.live++;
      log.mostLive = Math.max(log.mostLive, log.live);
      yield i;
    }
  }
  const release = (item: number) => {
    log.released.push(item);
    log.live--;
  };
  return { log, source: source(), release };
}

async function consume(stream: AsyncIterable<number>, delay: number, stopAt = Infinity): Promise<number[]> {
  const seen: number[] = [];
  for await (const item of stream) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    if (item === stopAt) throw new Error(`consumer stopped at ${item}`);
    seen.push(item);
  }
  return seen;
}

test("shared batches: every consumer sees every item in order, each made once and released after its last use", async () => {
  const { log, source, release } = counted(5);
  const [a, b, c] = shareBatches(source, 3, release);
  const seen = await Promise.all([consume(a, 0), consume(b, 3), consume(c, 1)]);
  for (const s of seen) assertEquals(s, [0, 1, 2, 3, 4]);
  assertEquals(log.made, 5);
  assertEquals(log.released, [0, 1, 2, 3, 4]);
  assertEquals(log.mostLive, 1, "one item held at a time");
});

test("shared batches: a consumer that fails mid-way or before its loop leaves, and the others finish", async () => {
  const { log, source, release } = counted(4);
  const [a, b, c] = shareBatches(source, 3, release);
  const failsEarly = (async () => {
    try {
      throw new Error("failed before its loop");
    } finally {
      c.leave();
    }
  })();
  const [full, partial, early] = await Promise.allSettled([consume(a, 1), consume(b, 0, 2), failsEarly]);
  assertEquals(full.status === "fulfilled" && full.value, [0, 1, 2, 3]);
  assert(partial.status === "rejected" && /stopped at 2/.test(partial.reason.message), "the failing consumer's error");
  assert(early.status === "rejected", "the early failure");
  assertEquals(log.released, [0, 1, 2, 3], "every item released");
});

test("shared batches: a source error reaches every consumer, nothing stays held; all consumers leaving closes the source", async () => {
  const failing = counted(4, 2);
  const [a, b] = shareBatches(failing.source, 2, failing.release);
  for (const result of await Promise.allSettled([consume(a, 0), consume(b, 1)])) {
    assert(result.status === "rejected" && /item 2 is unreadable/.test(result.reason.message), "the source's error");
  }
  assertEquals(failing.log.released, [0, 1]);
  await assertRejects(async () => {
    for await (const _ of a);
  }, /item 2 is unreadable/);

  const closing = counted(10);
  const untilOne = async (stream: AsyncIterable<number>) => {
    for await (const item of stream) if (item === 1) break;
  };
  await Promise.all(shareBatches(closing.source, 2, closing.release).map(untilOne));
  assertEquals(closing.log.made, 2, "nothing made past the last item asked for");
  assertEquals(closing.log.released, [0, 1]);
});
