/** The tests' one seeded PRNG (mulberry32): the same seed gives the same numbers in every runtime. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` values in [−1, 1), float32 so that the GPU and a float64 reference see the same numbers. */
export function seededValues(count: number, seed: number): Float32Array {
  const random = rng(seed);
  return Float32Array.from({ length: count }, () => random() * 2 - 1);
}

/** `count` float32-representable values in [−spread, spread), as float64 for a reference to read. */
export function seededInputs(count: number, seed: number, spread = 1): Float64Array {
  return Float64Array.from(seededValues(count, seed), (x) => Math.fround(x * spread));
}
