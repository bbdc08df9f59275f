/**
 * One pass over a batch stream shared by consumers that run concurrently (a run's members
 * evaluating on the same validation data): each item is made once, handed to every consumer, and
 * released once all of them have asked for the next one or stopped. The consumers move in lockstep,
 * so at most one item is held at a time.
 */

interface Waiter<T> {
  resolve: (result: IteratorResult<T>) => void;
  reject: (error: unknown) => void;
}

class Lockstep<T> {
  #waiting: Waiter<T>[] = [];
  #active: number;
  #held: { value: T } | null = null;
  #ended: { error: unknown } | null = null;

  constructor(private readonly source: AsyncIterator<T>, consumers: number, private readonly release: (item: T) => void) {
    this.#active = consumers;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#ended) return this.#ended.error === undefined ? Promise.resolve({ done: true, value: undefined }) : Promise.reject(this.#ended.error);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#advance();
    });
  }

  /** A consumer stopped early (break or throw in its loop): the others go on without it. */
  leave(): void {
    this.#active--;
    if (this.#active === 0 && !this.#ended) {
      this.#releaseHeld();
      this.#ended = { error: undefined };
      // Only cleanup is left to do (closing the decoder); a failure there must not outlive the evaluation.
      this.source.return?.()?.catch(() => {});
      return;
    }
    this.#advance();
  }

  /** Once every active consumer asks for the next item: releases the held one and pulls another. */
  #advance(): void {
    if (this.#waiting.length === 0 || this.#waiting.length < this.#active) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#releaseHeld();
    this.source.next().then((result) => {
      if (result.done) this.#ended = { error: undefined };
      else this.#held = { value: result.value };
      for (const w of waiting) w.resolve(result);
    }, (error) => {
      this.#ended = { error };
      for (const w of waiting) w.reject(error);
    });
  }

  #releaseHeld(): void {
    if (this.#held) this.release(this.#held.value);
    this.#held = null;
  }
}

/** One consumer's view of the shared pass; `leave` (also called by a loop's break or throw) lets the others go on. */
export interface SharedStream<T> extends AsyncIterable<T> {
  leave(): void;
}

/**
 * `consumers` streams over one pass of `source`; `release` frees an item after its last use. A
 * consumer that ends without finishing its loop (it failed before iterating) must `leave`, or the
 * others wait for it.
 */
export function shareBatches<T>(source: AsyncIterable<T>, consumers: number, release: (item: T) => void): SharedStream<T>[] {
  const shared = new Lockstep(source[Symbol.asyncIterator](), consumers, release);
  return Array.from({ length: consumers }, () => {
    let left = false;
    const leave = () => {
      if (!left) shared.leave();
      left = true;
    };
    const iterator: AsyncIterator<T> = {
      next: () => shared.next(),
      return: () => {
        leave();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
    return { leave, [Symbol.asyncIterator]: () => iterator };
  });
}
