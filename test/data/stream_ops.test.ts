import { assert, assertEquals, test } from "../harness.ts";
import { Random } from "../../src/data/random.ts";
import { batch, interleave, mapOrdered, mix, prefetch, shuffle } from "../../src/data/stream_ops.ts";

async function* range(from: number, to: number, onPull?: () => void): AsyncGenerator<number> {
  for (let i = from; i < to; i++) {
    onPull?.();
    yield i;
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

test("data/stream_ops: interleave round-robins and refills from the queue", async () => {
  const sources = [() => range(0, 3), () => range(10, 11), () => range(20, 22)];
  assertEquals(await collect(interleave(sources, 2)), [0, 10, 1, 20, 2, 21]);
});

test("data/stream_ops: shuffle is a seeded permutation", async () => {
  const a = await collect(shuffle(range(0, 100), 16, new Random(3)));
  const b = await collect(shuffle(range(0, 100), 16, new Random(3)));
  const c = await collect(shuffle(range(0, 100), 16, new Random(4)));
  assertEquals(a, b);
  assert(JSON.stringify(a) !== JSON.stringify(c), "another seed, another order");
  assertEquals([...a].sort((x, y) => x - y), [...Array(100).keys()]);
});

test("data/stream_ops: batch keeps or drops the remainder", async () => {
  assertEquals(await collect(batch(range(0, 5), 2, false)), [[0, 1], [2, 3], [4]]);
  assertEquals(await collect(batch(range(0, 5), 2, true)), [[0, 1], [2, 3]]);
});

test("data/stream_ops: mapOrdered keeps order with work finishing out of order", async () => {
  const delays = [30, 1, 15, 0, 5];
  const out = await collect(mapOrdered(range(0, 5), (i) => new Promise<number>((r) => setTimeout(() => r(i * 2), delays[i])), 3));
  assertEquals(out, [0, 2, 4, 6, 8]);
});

test("data/stream_ops: prefetch runs ahead by at most its depth", async () => {
  let pulled = 0;
  const it = prefetch(range(0, 100, () => pulled++), 3)[Symbol.asyncIterator]();
  await it.next();
  await new Promise((r) => setTimeout(r, 20));
  assert(pulled <= 1 + 3 + 1, `pulled ${pulled} items for 1 consumed`);
  assert(pulled >= 3, `prefetch did run ahead (${pulled})`);
  await it.return(undefined);
});

test("data/stream_ops: mix follows the weights and drains every source", async () => {
  const tagged = (tag: string, n: number) => (async function* () {
    for (let i = 0; i < n; i++) yield tag;
  })();
  const out = await collect(mix([{ items: tagged("c", 2000), weight: 0.2 }, { items: tagged("i", 2000), weight: 0.8 }], new Random(1)));
  const firstThousand = out.slice(0, 1000);
  const share = firstThousand.filter((t) => t === "c").length / 1000;
  assert(Math.abs(share - 0.2) < 0.05, `ClickMe share ${share}`);
  assertEquals(out.length, 4000);
});
