/**
 * Weights for full-size models without shipping them: every value is a hash of (tensor position in
 * the state dict, element index), computed identically by `deterministic_weights` in
 * test/golden/models_golden.py, which stores only the resulting logits.
 */
import type { HostTensor } from "../../src/io/safetensors.ts";

/** out[i] = scale·u_i + shift with u_i ∈ [0, 1) a murmur3 finaliser of i·0x9E3779B1 + k·0x85EBCA77 (mod 2³²). */
function hashAffine(tensorIndex: number, count: number, scale: number, shift: number): Float32Array {
  const out = new Float32Array(count);
  const offset = Math.imul(tensorIndex, 0x85ebca77);
  for (let i = 0; i < count; i++) {
    let h = Math.imul(i, 0x9e3779b1) + offset;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    out[i] = scale * ((h >>> 0) / 2 ** 32) + shift;
  }
  return out;
}

/** The state dict the Python side builds for these names and shapes (in state-dict order). */
export function deterministicStateDict(entries: [string, number[]][]): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  entries.forEach(([name, shape], k) => {
    const count = shape.reduce((n, d) => n * d, 1);
    if (name.endsWith("num_batches_tracked")) {
      out.set(name, { shape, data: new Int32Array(count) });
      return;
    }
    // value = scale·u + shift, per kind of tensor (the Python side writes the same formulas)
    const bound = Math.sqrt(3 / (shape.length > 1 ? count / shape[0] : 1));
    const [scale, shift] = name.endsWith("running_var") ? [1, 0.5]
      : name.endsWith("running_mean") ? [0.4, -0.2]
      : shape.length === 1 && name.endsWith("weight") ? [0.5, 0.5]
      : shape.length === 1 ? [0.4, -0.2]
      : [2 * bound, -bound];
    out.set(name, { shape, data: hashAffine(k, count, scale, shift) });
  });
  return out;
}
