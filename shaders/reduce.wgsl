// Reductions of a [outer, R, inner] view to [outer, inner]: sum (Kahan-compensated), max, min,
// argmax (first index of the maximum, written as i32 bits), sum of squares (Σ x², Kahan-compensated).
// Bindings: 0 params {outer, len, inner}, 1 x: array<f32> (read), 2 out: array<u32> (write; f32 or i32 bits).
// Entry points:
//   reduce_rows: inner == 1; one 256-thread workgroup per row (2-D grid), strided partials then a
//                tree in workgroup memory, so 2^20-element sums stay accurate.
//   reduce_cols: one thread per (outer, inner) output looping over R; coalesced across inner.
//   reduce_partials: inner == 1, a long row split across `inner` threads: thread t reduces elements
//                t, t + inner, t + 2·inner, ... of its row (coalesced across threads) into
//                out[row · inner + t]; a second pass (reduce_cols, OP sum for sums of squares)
//                reduces those partials. No barriers, and every core gets a share of the row.
// Override OP: 0 sum, 1 max, 2 min, 3 argmax, 4 sum of squares.
// llvmpipe (lavapipe) ends a shader invocation's loops after 65535 iterations in all, so the
// launcher keeps every thread's loop below that (long columns are moved to rows first).
#include "lib/flat_index.wgsl"
override OP: u32 = 0u;

struct Params { outer: u32, len: u32, inner: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

struct Acc { value: f32, comp: f32, index: u32 }

fn acc_init() -> Acc {
  // Infinities come from `let` bits: Tint rejects infinite constant expressions.
  let neg_inf_bits = 0xff800000u;
  let neg_inf = bitcast<f32>(neg_inf_bits);
  switch OP {
    case 1u, 3u: { return Acc(neg_inf, 0.0, 0xffffffffu); }
    case 2u: { return Acc(-neg_inf, 0.0, 0xffffffffu); }
    default: { return Acc(0.0, 0.0, 0xffffffffu); }
  }
}

// NaN wins max/min/argmax, as in numpy and torch.
fn better(v: f32, best: f32) -> bool {
  if (v != v) { return best == best; }
  if (OP == 2u) { return v < best; }
  return v > best;
}

const SUM_OF_SQUARES = 4u;

fn is_sum() -> bool { return OP == 0u || OP == SUM_OF_SQUARES; }

// The value an element contributes: its square for a sum of squares, as mul(x, x) would round it.
fn term(v: f32) -> f32 {
  if (OP == SUM_OF_SQUARES) { return v * v; }
  return v;
}

fn acc_add(acc: Acc, v: f32, index: u32) -> Acc {
  var r = acc;
  if (is_sum()) {
    // Kahan–Babuška (Neumaier) summation.
    let t = r.value + v;
    if (abs(r.value) >= abs(v)) { r.comp += (r.value - t) + v; } else { r.comp += (v - t) + r.value; }
    r.value = t;
  } else if (better(v, r.value) || (v == r.value && index < r.index)) {
    r.value = v;
    r.index = index;
  }
  return r;
}

fn acc_merge(a: Acc, b: Acc) -> Acc {
  if (is_sum()) {
    var r = acc_add(a, b.value, 0u);
    r.comp += b.comp;
    return r;
  }
  if (b.index == 0xffffffffu) { return a; }
  return acc_add(a, b.value, b.index);
}

fn acc_write(i: u32, acc: Acc) {
  switch OP {
    case 0u, 4u: { out[i] = bitcast<u32>(acc.value + acc.comp); }
    case 3u: { out[i] = acc.index; }
    default: { out[i] = bitcast<u32>(acc.value); }
  }
}

var<workgroup> partial_value: array<f32, 256>;
var<workgroup> partial_comp: array<f32, 256>;
var<workgroup> partial_index: array<u32, 256>;

@compute @workgroup_size(256)
fn reduce_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  // No early return: the barriers below must be reached by the whole workgroup.
  let valid = row < params.outer;
  let base = row * params.len;
  var acc = acc_init();
  for (var k = lid; valid && k < params.len; k += 256u) {
    acc = acc_add(acc, term(x[base + k]), k);
  }
  partial_value[lid] = acc.value;
  partial_comp[lid] = acc.comp;
  partial_index[lid] = acc.index;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let mine = Acc(partial_value[lid], partial_comp[lid], partial_index[lid]);
      let other = Acc(partial_value[lid + stride], partial_comp[lid + stride], partial_index[lid + stride]);
      let merged = acc_merge(mine, other);
      partial_value[lid] = merged.value;
      partial_comp[lid] = merged.comp;
      partial_index[lid] = merged.index;
    }
    workgroupBarrier();
  }
  if (valid && lid == 0u) {
    acc_write(row, Acc(partial_value[0], partial_comp[0], partial_index[0]));
  }
}

@compute @workgroup_size(256)
fn reduce_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.outer * params.inner) { return; }
  let o = i / params.inner;
  let j = i % params.inner;
  let base = o * params.len * params.inner + j;
  var acc = acc_init();
  for (var k = 0u; k < params.len; k++) {
    acc = acc_add(acc, term(x[base + k * params.inner]), k);
  }
  acc_write(i, acc);
}

@compute @workgroup_size(256)
fn reduce_partials(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.outer * params.inner) { return; }
  let row = i / params.inner;
  let t = i % params.inner;
  let base = row * params.len;
  var acc = acc_init();
  for (var k = t; k < params.len; k += params.inner) {
    acc = acc_add(acc, term(x[base + k]), k);
  }
  acc_write(i, acc);
}
