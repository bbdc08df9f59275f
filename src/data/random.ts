/** Seeded PRNG (mulberry32): shuffles and augmentations replay exactly from a seed. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = (seed >>> 0) ^ 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
}
