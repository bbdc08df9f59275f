// Generic async-iterable stages of the input pipeline. Each pulls only what its consumer asks
// for, so memory is bounded by the buffers named in its arguments.

import type { Random } from "./random.ts";

/** Round-robins over up to `cycle` open sources, opening the next source when one runs dry. */
export async function* interleave<T>(sources: (() => AsyncIterable<T>)[], cycle: number): AsyncGenerator<T> {
  const queue = [...sources];
  const open: AsyncIterator<T>[] = [];
  try {
    while (open.length < cycle && queue.length > 0) open.push(queue.shift()!()[Symbol.asyncIterator]());
    let turn = 0;
    while (open.length > 0) {
      turn %= open.length;
      const next = await open[turn].next();
      if (next.done) {
        const replacement = queue.shift();
        if (replacement) open[turn] = replacement()[Symbol.asyncIterator]();
        else open.splice(turn, 1);
        continue;
      }
      yield next.value;
      turn++;
    }
  } finally {
    await Promise.all(open.map((it) => it.return?.()));
  }
}

/** tf.data-style shuffle: a buffer of `size` items, each output a random pick from it. */
export async function* shuffle<T>(items: AsyncIterable<T>, size: number, random: Random): AsyncGenerator<T> {
  const buffer: T[] = [];
  for await (const item of items) {
    if (buffer.length < size) {
      buffer.push(item);
      continue;
    }
    const pick = random.int(size);
    yield buffer[pick];
    buffer[pick] = item;
  }
  while (buffer.length > 0) {
    const pick = random.int(buffer.length);
    yield buffer[pick];
    buffer[pick] = buffer[buffer.length - 1];
    buffer.pop();
  }
}

/** Applies an async `fn` with up to `concurrency` calls in flight, yielding results in input order. */
export async function* mapOrdered<T, U>(items: AsyncIterable<T>, fn: (item: T) => Promise<U>, concurrency: number): AsyncGenerator<U> {
  const inFlight: Promise<U>[] = [];
  const iterator = items[Symbol.asyncIterator]();
  try {
    let exhausted = false;
    while (true) {
      while (!exhausted && inFlight.length < concurrency) {
        const next = await iterator.next();
        if (next.done) exhausted = true;
        else {
          const promise = fn(next.value);
          promise.catch(() => {}); // observed when its turn comes; avoids an unhandled rejection meanwhile
          inFlight.push(promise);
        }
      }
      if (inFlight.length === 0) return;
      yield await inFlight.shift()!;
    }
  } finally {
    await iterator.return?.();
  }
}

export async function* batch<T>(items: AsyncIterable<T>, size: number, dropRemainder: boolean): AsyncGenerator<T[]> {
  let current: T[] = [];
  for await (const item of items) {
    current.push(item);
    if (current.length === size) {
      yield current;
      current = [];
    }
  }
  if (current.length > 0 && !dropRemainder) yield current;
}

/** Runs `items` ahead of the consumer, holding at most `depth` produced items. */
export async function* prefetch<T>(items: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const iterator = items[Symbol.asyncIterator]();
  const ahead: Promise<IteratorResult<T>>[] = [];
  try {
    while (true) {
      while (ahead.length < depth + 1) {
        const next = iterator.next();
        next.catch(() => {});
        ahead.push(next);
        // Generators queue next() calls, so these run one after another, never in parallel.
      }
      const result = await ahead.shift()!;
      if (result.done) return;
      yield result.value;
    }
  } finally {
    await Promise.allSettled(ahead);
    await iterator.return?.();
  }
}

/** Draws each item from source i with probability weight_i / Σ weights of the sources still running. */
export async function* mix<T>(sources: { items: AsyncIterable<T>; weight: number }[], random: Random): AsyncGenerator<T> {
  const live = sources.map((s) => ({ iterator: s.items[Symbol.asyncIterator](), weight: s.weight }));
  try {
    while (live.length > 0) {
      const total = live.reduce((sum, s) => sum + s.weight, 0);
      let draw = random.next() * total;
      let pick = 0;
      while (pick < live.length - 1 && draw >= live[pick].weight) draw -= live[pick++].weight;
      const next = await live[pick].iterator.next();
      if (next.done) live.splice(pick, 1);
      else yield next.value;
    }
  } finally {
    await Promise.all(live.map((s) => s.iterator.return?.()));
  }
}
