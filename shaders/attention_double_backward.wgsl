// The double backward of fused attention: the vector–Jacobian product of attentionBackward
// (attention_backward.wgsl) in two kernels that recompute P tile by tile from the stored
// log-sum-exps, as the backward does (layout and register blocking: attention.wgsl). With
// S = scale·q·kᵀ, P = exp(S − lse), dP = dO·vᵀ, δ = rowsum(P∘dP) − dlse, dS = P∘(dP − δ) and the
// cotangents A, B, C of dq, dk, dv:
//   W = scale·(A·kᵀ + q·Bᵀ), X = dO·Cᵀ, w = rowsum(W∘P),
//   P̄ = W∘(dP − δ) − w∘dP + X,  dP̄ = P∘(W − w),  S̄ = P∘(P̄ − r), r = rowsum(P̄∘P),
//   q̄ = scale·(dS·B + S̄·k),  k̄ = scale·(dSᵀ·A + S̄ᵀ·q),  v̄ = dP̄ᵀ·dO,  dŌ = P·C + dP̄·v,  γ̄ = w
// (γ̄ is the cotangent of dlse). r needs w first, but with f = rowsum(P∘dP), e = rowsum(P∘W∘dP) and
// h = rowsum(P∘X), all gathered in one pass: δ = f − dlse and r = e + h − w·(δ + f).
//   attention_double_rows (over query blocks): pass 1 gathers f, w, e, h of the block's rows and
//     writes γ̄; pass 2 accumulates q̄ and dŌ, recomputing the products of every tile but the last,
//     and saves dS, S̄ and dP̄ to `stored`;
//   attention_double_keys (over key blocks, after it): k̄ and v̄ from the stored dS, S̄, dP̄ (read
//     transposed), instead of computing the four T×T products again (at T = 17 that was half its time).
// A lane whose four tile rows all lie past T skips its dot products (on CPU adapters a SIMD batch of
// such lanes then does no work: at T = 17 that is half of every tile).
// Bindings (0 is params, lib/attention_blocks.wgsl):
//   1 q, 2 k, 3 v, 4 dO, 8 A, 9 B, 10 C (textures), 5 packed (read: lse), 6 stored [batch, 3, T,
//   ceil(T / 4)] vec4s (dS, S̄, dP̄: for each key, its queries four at a time; rows writes, keys
//   reads), 7 grads (write: q̄, k̄, v̄ laid out like q, k, v, then dŌ laid out like o, then γ̄
//   [batch, T]), 11 cotangent (rows reads dlse).
//   The keys kernel binds only 1, 4, 6, 7 and 8.
// Workgroup 16 (lanes), grid (ceil(T / 16), batch). Workgroup memory: the two 16×64 tiles and
// 16 lanes × 4 sums × 16 rows. Override: HEAD_DIM (D).
#include "lib/attention_blocks.wgsl"
#include "lib/attention_grads.wgsl"

@group(0) @binding(6) var<storage, read_write> stored: array<vec4<f32>>;
@group(0) @binding(8) var cot_q: texture_2d_array<f32>;
@group(0) @binding(9) var cot_k: texture_2d_array<f32>;
@group(0) @binding(10) var cot_v: texture_2d_array<f32>;
@group(0) @binding(11) var<storage, read> cotangent: array<f32>;

// [lane][sum][rows 4g … 4g+3]: each lane's partial row sums f, w, e, h.
var<workgroup> partial: array<vec4<f32>, LANES * 16u>;

// The four T×T quantities of a 16×4 block: S/scale, dP, W and X (transposed in attention_double_keys).
struct Products { s: Rows16, dp: Rows16, w: Rows16, x: Rows16 }

// P, dS, S̄ and dP̄ of a 16×4 block.
struct Terms { p: Rows16, ds: Rows16, sbar: Rows16, dpbar: Rows16 }
struct Terms4 { p: Rows4, ds: Rows4, sbar: Rows4, dpbar: Rows4 }
struct Terms1 { p: vec4<f32>, ds: vec4<f32>, sbar: vec4<f32>, dpbar: vec4<f32> }

// One row's four entries; lse, δ, w, r hold each entry's row statistics (of its query).
fn terms1(s: vec4<f32>, dp: vec4<f32>, w: vec4<f32>, x: vec4<f32>, lse: vec4<f32>, dlt: vec4<f32>, wr: vec4<f32>, r: vec4<f32>,
          valid: vec4<bool>) -> Terms1 {
  let p = select(vec4<f32>(0.0), exp(s * params.scale - lse), valid);
  let centred = dp - dlt;
  let pbar = w * centred - wr * dp + x;
  return Terms1(p, p * centred, p * (pbar - r), p * (w - wr));
}

fn terms4(s: Rows4, dp: Rows4, w: Rows4, x: Rows4, lse: Rows4, dlt: Rows4, wr: Rows4, r: Rows4, valid: vec4<bool>) -> Terms4 {
  let a = terms1(s.a, dp.a, w.a, x.a, lse.a, dlt.a, wr.a, r.a, valid);
  let b = terms1(s.b, dp.b, w.b, x.b, lse.b, dlt.b, wr.b, r.b, valid);
  let c = terms1(s.c, dp.c, w.c, x.c, lse.c, dlt.c, wr.c, r.c, valid);
  let d = terms1(s.d, dp.d, w.d, x.d, lse.d, dlt.d, wr.d, r.d, valid);
  return Terms4(Rows4(a.p, b.p, c.p, d.p), Rows4(a.ds, b.ds, c.ds, d.ds), Rows4(a.sbar, b.sbar, c.sbar, d.sbar),
                Rows4(a.dpbar, b.dpbar, c.dpbar, d.dpbar));
}

fn terms(m: Products, lse: Rows16, dlt: Rows16, wr: Rows16, r: Rows16, valid: vec4<bool>) -> Terms {
  let a = terms4(m.s.a, m.dp.a, m.w.a, m.x.a, lse.a, dlt.a, wr.a, r.a, valid);
  let b = terms4(m.s.b, m.dp.b, m.w.b, m.x.b, lse.b, dlt.b, wr.b, r.b, valid);
  let c = terms4(m.s.c, m.dp.c, m.w.c, m.x.c, lse.c, dlt.c, wr.c, r.c, valid);
  let d = terms4(m.s.d, m.dp.d, m.w.d, m.x.d, lse.d, dlt.d, wr.d, r.d, valid);
  return Terms(Rows16(a.p, b.p, c.p, d.p), Rows16(a.ds, b.ds, c.ds, d.ds), Rows16(a.sbar, b.sbar, c.sbar, d.sbar),
               Rows16(a.dpbar, b.dpbar, c.dpbar, d.dpbar));
}

// Per-row statistics (16 values, a = rows 0–3) as a 16×4 block: each row's value in all four entries.
fn spread4(x: vec4<f32>) -> Rows4 { return Rows4(vec4<f32>(x.x), vec4<f32>(x.y), vec4<f32>(x.z), vec4<f32>(x.w)); }
fn spread_rows(x: Rows4) -> Rows16 { return Rows16(spread4(x.a), spread4(x.b), spread4(x.c), spread4(x.d)); }

fn add4(a: Rows4, b: Rows4) -> Rows4 { return Rows4(a.a + b.a, a.b + b.b, a.c + b.c, a.d + b.d); }
fn sub4(a: Rows4, b: Rows4) -> Rows4 { return Rows4(a.a - b.a, a.b - b.b, a.c - b.c, a.d - b.d); }
fn mul4(a: Rows4, b: Rows4) -> Rows4 { return Rows4(a.a * b.a, a.b * b.b, a.c * b.c, a.d * b.d); }
fn mul16(a: Rows16, b: Rows16) -> Rows16 { return Rows16(mul4(a.a, b.a), mul4(a.b, b.b), mul4(a.c, b.c), mul4(a.d, b.d)); }
// Row sums of a∘b over a lane's four entries, for the 16 rows.
fn dots4(a: Rows4, b: Rows4) -> vec4<f32> { return vec4<f32>(dot(a.a, b.a), dot(a.b, b.b), dot(a.c, b.c), dot(a.d, b.d)); }
fn dots16(a: Rows16, b: Rows16) -> Rows4 { return Rows4(dots4(a.a, b.a), dots4(a.b, b.b), dots4(a.c, b.c), dots4(a.d, b.d)); }

fn store_sum(lane: u32, which: u32, x: Rows4) {
  let at = (lane * 4u + which) * 4u;
  partial[at] = x.a;
  partial[at + 1u] = x.b;
  partial[at + 2u] = x.c;
  partial[at + 3u] = x.d;
}

// Sum `which` of the 16 rows over every lane's share; the loads are uniform across lanes.
fn lanes_total(which: u32) -> Rows4 {
  var total = ZERO4;
  for (var l = 0u; l < LANES; l++) {
    let at = (l * 4u + which) * 4u;
    total = add4(total, Rows4(partial[at], partial[at + 1u], partial[at + 2u], partial[at + 3u]));
  }
  return total;
}

fn dlse_at(b: u32, t: vec4<u32>) -> vec4<f32> {
  let at = params.batch * params.T * HEAD_DIM + b * params.T + t;
  return vec4<f32>(cotangent[at.x], cotangent[at.y], cotangent[at.z], cotangent[at.w]);
}

// Which stored quantities (0 dS, 1 S̄, 2 dP̄) add_tile_products saves x and y as (NOT_SAVED: neither).
const NOT_SAVED = 3u;
struct Saves { b: u32, row0: u32, x: u32, y: u32 }

// acc (block rows 4·rg …, D chunks 4·cg … of lane 4·rg + cg) + Σ_j x[j]·(row first + j of x_with)
// + y[j]·(row first + j of y_with) over the tile's first `count` rows, x and y the 16×4 blocks the
// lanes computed (each lane its tile rows 4·lane …), exchanged through the workgroup tiles, from
// where they are saved to `stored` as `saves` says.
fn add_tile_products(acc: Rows16, lane: u32, x: Rows16, x_with: texture_2d_array<f32>, y: Rows16, y_with: texture_2d_array<f32>,
                     at: Place, first: u32, count: u32, saves: Saves) -> Rows16 {
  store_tile(true, 4u * lane, x);
  store_tile(false, 4u * lane, y);
  workgroupBarrier();
  if (saves.x != NOT_SAVED) { save_tile(true, saves.b, saves.x, lane, saves.row0, first, count); }
  if (saves.y != NOT_SAVED) { save_tile(false, saves.b, saves.y, lane, saves.row0, first, count); }
  let rg = lane / 4u;
  let chunks = lane_chunks(lane % 4u);
  var sum = acc;
  for (var j = 0u; j < lane_count(count, rg); j++) {
    sum = add_outer_chunks(sum, tile_at(true, j, rg), texels(x_with, at, first + j, chunks));
    sum = add_outer_chunks(sum, tile_at(false, j, rg), texels(y_with, at, first + j, chunks));
  }
  workgroupBarrier();
  return sum;
}

// --------------------------------------------------------------------------------- query blocks

// The four products of one 4-row group (S/scale, dP, W/scale and X).
struct Group { s: Rows4, dp: Rows4, w: Rows4, x: Rows4 }
const ZERO_GROUP = Group(ZERO4, ZERO4, ZERO4, ZERO4);

// Chunk c of a group's rows against the tile rows' chunks (transposed) of k, B, v and C. Texel
// fetches dominate these products on CPU adapters, so each operand's chunk is fetched once for
// every product that reads it (64 fetches per chunk instead of 100).
fn add_group_products(m: Group, at: Place, rows: vec4<u32>, c: u32, kc: mat4x4<f32>, bc: mat4x4<f32>, vc: mat4x4<f32>, cc: mat4x4<f32>) -> Group {
  let qg = chunk(q, at, rows, c);
  let og = chunk(grad_out, at, rows, c);
  return Group(add_group(m.s, qg, kc), add_group(m.dp, og, vc), add_group(add_group(m.w, chunk(cot_q, at, rows, c), kc), qg, bc),
               add_group(m.x, og, cc));
}

fn row_products(at: Place, rows: Index16, keys: vec4<u32>, depth: u32) -> Products {
  var a = ZERO_GROUP;
  var b = ZERO_GROUP;
  var c = ZERO_GROUP;
  var d = ZERO_GROUP;
  for (var i = 0u; i < depth; i++) {
    let kc = chunk(k, at, keys, i);
    let bc = chunk(cot_k, at, keys, i);
    let vc = chunk(v, at, keys, i);
    let cc = chunk(cot_v, at, keys, i);
    a = add_group_products(a, at, rows.a, i, kc, bc, vc, cc);
    if (block_groups > 1u) { b = add_group_products(b, at, rows.b, i, kc, bc, vc, cc); }
    if (block_groups > 2u) { c = add_group_products(c, at, rows.c, i, kc, bc, vc, cc); }
    if (block_groups > 3u) { d = add_group_products(d, at, rows.d, i, kc, bc, vc, cc); }
  }
  return Products(Rows16(a.s, b.s, c.s, d.s), Rows16(a.dp, b.dp, c.dp, d.dp), scale16(Rows16(a.w, b.w, c.w, d.w), params.scale),
                  Rows16(a.x, b.x, c.x, d.x));
}

fn write_gamma_bar(b: u32, row: u32, w: f32) {
  if (row >= params.T) { return; }
  grads[4u * params.batch * params.T * HEAD_DIM + b * params.T + row] = w;
}

// Where queries 4·query4 … 4·query4 + 3 of key `key` of stored quantity `which` (0 dS, 1 S̄, 2 dP̄)
// of batch b lie in `stored` (a vec4 each, as the workgroup tiles hold them).
fn stored_at(b: u32, which: u32, key: u32, query4: u32) -> u32 {
  return ((b * 3u + which) * params.T + key) * ((params.T + 3u) / 4u) + query4;
}

// Copies a workgroup tile (tile rows = keys first …, of the block's row groups) to stored quantity
// `which`: the lanes share the count × groups vec4s.
fn save_tile(from_ds: bool, b: u32, which: u32, lane: u32, row0: u32, first: u32, count: u32) {
  for (var i = lane; i < count * block_groups; i += LANES) {
    let j = i / block_groups;
    let g = i % block_groups;
    stored[stored_at(b, which, first + j, row0 / 4u + g)] = tile_at(from_ds, j, g);
  }
}

@compute @workgroup_size(16)
fn attention_double_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let T = params.T;
  let b = wid.y;
  let row0 = block_row0(wid);
  let rg = lane / 4u;
  let cg = lane % 4u;
  let at = place(b);
  let q_rows = rows16(row0);
  let all = vec4<bool>(true);
  let lse = Rows4(lse_at(b, q_rows.a, all), lse_at(b, q_rows.b, all), lse_at(b, q_rows.c, all), lse_at(b, q_rows.d, all));
  let lse16 = spread_rows(lse);
  // Pass 1: this lane's share of f, w, e, h for the 16 rows.
  var f = ZERO4;
  var wr = ZERO4;
  var e = ZERO4;
  var h = ZERO4;
  var m = Products(ZERO16, ZERO16, ZERO16, ZERO16);
  for (var j0 = 0u; j0 < T; j0 += TILE) {
    let valid = inside4(j0 + 4u * lane);
    m = row_products(at, q_rows, rows4(j0 + 4u * lane), depth_of(valid));
    let p = terms(m, lse16, ZERO16, ZERO16, ZERO16, valid).p;
    let pw = mul16(p, m.w);
    f = add4(f, dots16(p, m.dp));
    wr = add4(wr, dots16(p, m.w));
    e = add4(e, dots16(pw, m.dp));
    h = add4(h, dots16(p, m.x));
  }
  store_sum(lane, 0u, f);
  store_sum(lane, 1u, wr);
  store_sum(lane, 2u, e);
  store_sum(lane, 3u, h);
  workgroupBarrier();
  f = lanes_total(0u);
  wr = lanes_total(1u);
  e = lanes_total(2u);
  h = lanes_total(3u);
  let dlse = Rows4(dlse_at(b, q_rows.a), dlse_at(b, q_rows.b), dlse_at(b, q_rows.c), dlse_at(b, q_rows.d));
  let delta = sub4(f, dlse);
  let r = sub4(add4(e, h), mul4(wr, add4(delta, f)));
  let first = row0 + 4u * rg;
  if (cg == 0u) {
    let wg = pick(wr, rg);
    for (var i = 0u; i < 4u; i++) { write_gamma_bar(b, first + i, wg[i]); }
  }
  // Pass 2: q̄ += dS·B + S̄·k (scaled at the end), dŌ += P·C + dP̄·v; last tile first, whose
  // products pass 1 left in m (at T ≤ 64, the only tile: nothing is computed twice).
  let delta16 = spread_rows(delta);
  let w16 = spread_rows(wr);
  let r16 = spread_rows(r);
  var qbar = ZERO16;
  var dobar = ZERO16;
  let tiles = (T + TILE - 1u) / TILE;
  for (var n = tiles; n > 0u; n--) {
    let j0 = (n - 1u) * TILE;
    let valid = inside4(j0 + 4u * lane);
    if (n != tiles) { m = row_products(at, q_rows, rows4(j0 + 4u * lane), depth_of(valid)); }
    let t = terms(m, lse16, delta16, w16, r16, valid);
    let count = min(TILE, T - j0);
    qbar = add_tile_products(qbar, lane, t.ds, cot_k, t.sbar, k, at, j0, count, Saves(b, row0, 0u, 1u));
    dobar = add_tile_products(dobar, lane, t.p, cot_v, t.dpbar, v, at, j0, count, Saves(b, row0, NOT_SAVED, 2u));
  }
  write_qkv_grad(0u, b, first, cg, scale16(qbar, params.scale));
  write_grads_chunks(3u * params.batch * T * HEAD_DIM + layout_at(params.o, b, 0u), params.o.row, first, cg, dobar);
}

// ----------------------------------------------------------------------------------- key blocks

// Stored quantity `which` at the four keys `keys` and queries 4·query4 … +3, as four vec4s over the
// keys (index e: query 4·query4 + e; the caller reads none past T).
fn stored_keys(b: u32, which: u32, keys: vec4<u32>, query4: u32) -> mat4x4<f32> {
  return transpose(mat4x4<f32>(stored[stored_at(b, which, keys.x, query4)], stored[stored_at(b, which, keys.y, query4)],
                               stored[stored_at(b, which, keys.z, query4)], stored[stored_at(b, which, keys.w, query4)]));
}

// Each lane accumulates its four keys (4·rg …) × four D chunks straight from `stored`: no
// workgroup tiles or barriers, since the rows kernel already laid the terms out per key.
@compute @workgroup_size(16)
fn attention_double_keys(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let T = params.T;
  let b = wid.y;
  let row0 = block_row0(wid);
  let rg = lane / 4u;
  let cg = lane % 4u;
  let at = place(b);
  let keys = rows4(row0 + 4u * rg);
  let chunks = lane_chunks(cg);
  var kbar = ZERO16;
  var vbar = ZERO16;
  // k̄ += dSᵀ·A + S̄ᵀ·q (scaled at the end);  v̄ += dP̄ᵀ·dO.
  for (var query4 = 0u; query4 < lane_count((T + 3u) / 4u, rg); query4++) {
    let ds = stored_keys(b, 0u, keys, query4);
    let sbar = stored_keys(b, 1u, keys, query4);
    let dpbar = stored_keys(b, 2u, keys, query4);
    for (var e = 0u; e < min(4u, T - 4u * query4); e++) {
      let i = 4u * query4 + e;
      kbar = add_outer_chunks(add_outer_chunks(kbar, ds[e], texels(cot_q, at, i, chunks)), sbar[e], texels(q, at, i, chunks));
      vbar = add_outer_chunks(vbar, dpbar[e], texels(grad_out, at, i, chunks));
    }
  }
  write_qkv_grad(1u, b, row0 + 4u * rg, cg, scale16(kbar, params.scale));
  write_qkv_grad(2u, b, row0 + 4u * rg, cg, vbar);
}
