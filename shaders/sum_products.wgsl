// sumProducts: out[c] = Σ_r (a0[r, c]·b0[r, c] + a1[r, c]·b1[r, c] + a2[r, c]·b2[r, c]) of 1..3 pairs
// of [rows, cols] operands: the cotangents of a per-column factor (layer norm's γ) that several
// elementwise products broadcast, summed in one pass instead of a product, a column sum and an
// addN each. One thread per column loops over the rows (coalesced across columns); the launcher
// keeps the rows below lavapipe's 65 535 loop iterations.
// Bindings: 0 params {rows, cols, terms}, 1..6 operands a0, b0, a1, b1, a2, b2, 7 out (write).
// Pairs past `terms` are bound to a0, b0 by the launcher and never read (a uniform branch).
// Workgroup: 64 threads; grid ceil(cols / 64).

struct Params { rows: u32, cols: u32, terms: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a0: array<f32>;
@group(0) @binding(2) var<storage, read> b0: array<f32>;
@group(0) @binding(3) var<storage, read> a1: array<f32>;
@group(0) @binding(4) var<storage, read> b1: array<f32>;
@group(0) @binding(5) var<storage, read> a2: array<f32>;
@group(0) @binding(6) var<storage, read> b2: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= params.cols) { return; }
  var total = 0.0;
  for (var r = 0u; r < params.rows; r++) {
    let i = r * params.cols + c;
    var s = a0[i] * b0[i];
    if (params.terms > 1u) { s = s + a1[i] * b1[i]; }
    if (params.terms > 2u) { s = s + a2[i] * b2[i]; }
    total = total + s;
  }
  out[c] = total;
}
