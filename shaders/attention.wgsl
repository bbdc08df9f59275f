// Fused scaled dot-product attention, FlashAttention-style: a block of 16 rows streams the other
// side in tiles of 64 rows; each tile's 16×64 scores pass through workgroup memory and are folded
// into an online softmax, so no T×T matrix is ever stored (only each row's log-sum-exp).
// Register blocking: a workgroup is 16 threads (lanes). For the scores every lane holds all 16 block
// rows × 4 tile rows of its own (16×4); for the accumulators (o, dq, dk, dv) lane = 4·rg + cg holds
// block rows 4·rg … +3 × D chunks (vec4s) 4·cg … +3, so that per tile row it reads one vec4 of the
// tile and four texels. No private arrays (indexed ones spill to scratch memory on CPU adapters).
// Inputs are read as rgba32float texels (attention_pack stages them): on CPU adapters (lavapipe,
// SwiftShader) a texel fetch is a vectorised gather, while a storage-buffer or workgroup-memory read
// is a loop over the SIMD lanes — measured on lavapipe, staging the block through workgroup memory
// instead of fetching texels made the forward 1.6× slower, and one-chunk-per-lane accumulators
// (16 tile reads per tile row) 1.6× slower.
// Workgroup memory: two 16×64 tiles (P, dS: 8 KiB) and 16×16 partial row statistics (1 KiB).
// Layout: q, k, v are [batch, T, D] (batch = B·H; D ≤ 64, a multiple of 4), staged from one
// [3, batch, T, D] stack or a [B, T, 3, H, D] projection (params.qkv; attention_pack reads any
// operand from params.pack_start as params.pack says). `packed` is flat: the output o ([batch, T, D]
// or [B, T, H, D]: params.o), then lse [batch, T], lse_i = log Σ_j exp(s_ij), s_ij = scale·q_i·k_j.
// A cotangent of packed has the same layout (dO, then d lse). `grads` holds dq, dk, dv laid out
// like q, k, v.
// Textures: [D/4 texels wide, PER_LAYER·T rows, ceil(batch / PER_LAYER) layers]; texel (c, y, layer)
// holds elements 4c … 4c+3 of row t of batch b, y = (b mod PER_LAYER)·T + t, layer = b / PER_LAYER.
// This file: staging and the forward pass; the backward is attention_backward.wgsl, and what both
// use is lib/attention_blocks.wgsl.
// Bindings (0 is params, lib/attention_blocks.wgsl, everywhere):
//   attention_pack:    1 src (read; the operand at pack_start, laid out as params.pack), 2 texture (write);
//                      workgroup (16, 4), grid (ceil(D/64), ceil(T/4), batch)
//   attention_forward: 1 q, 2 k, 3 v (textures), 4 packed (write); workgroup 16 (D ≤ 64: at most 16
//                      chunks), grid (ceil(T / 16), batch)
// Override: HEAD_DIM (D).
#include "lib/attention_blocks.wgsl"

// ------------------------------------------------------------------------------------------- pack

@group(0) @binding(1) var<storage, read> pack_src: array<vec4<f32>>;
@group(0) @binding(2) var pack_dst: texture_storage_2d_array<rgba32float, write>;

@compute @workgroup_size(16, 4)
fn attention_pack(@builtin(global_invocation_id) gid: vec3<u32>) {
  let T = params.T;
  if (gid.x >= HEAD_DIM / 4u || gid.y >= T) { return; }
  let p = place(gid.z);
  textureStore(pack_dst, vec2<u32>(gid.x, p.y0 + gid.y), p.layer, pack_src[(params.pack_start + layout_at(params.pack, gid.z, gid.y)) / 4u + gid.x]);
}

// ---------------------------------------------------------------------------------------- forward

@group(0) @binding(4) var<storage, read_write> packed_out: array<f32>;

// [lane][rows 4g … 4g+3]: each lane's partial row maxima (per tile) and, at the end, partial sums.
var<workgroup> partial: array<vec4<f32>, LANES * 4u>;

fn max4(x: vec4<f32>) -> f32 { return max(max(x.x, x.y), max(x.z, x.w)); }
fn sum4(x: vec4<f32>) -> f32 { return x.x + x.y + x.z + x.w; }
fn row_max(x: Rows4) -> vec4<f32> { return vec4<f32>(max4(x.a), max4(x.b), max4(x.c), max4(x.d)); }
fn row_sum(x: Rows4) -> vec4<f32> { return vec4<f32>(sum4(x.a), sum4(x.b), sum4(x.c), sum4(x.d)); }

fn exp_rows(x: Rows4, m: vec4<f32>) -> Rows4 { return Rows4(exp(x.a - m.x), exp(x.b - m.y), exp(x.c - m.z), exp(x.d - m.w)); }

fn store_partials(lane: u32, x: Rows4) {
  partial[4u * lane] = x.a;
  partial[4u * lane + 1u] = x.b;
  partial[4u * lane + 2u] = x.c;
  partial[4u * lane + 3u] = x.d;
}

// Max (or sum) over the lanes' partials of every block row; the loads are uniform across lanes.
fn reduce_partials(take_max: bool) -> Rows4 {
  let start = vec4<f32>(select(0.0, NEG_BIG, take_max));
  var acc = Rows4(start, start, start, start);
  for (var l = 0u; l < LANES; l++) {
    let x = Rows4(partial[4u * l], partial[4u * l + 1u], partial[4u * l + 2u], partial[4u * l + 3u]);
    if (take_max) {
      acc = Rows4(max(acc.a, x.a), max(acc.b, x.b), max(acc.c, x.c), max(acc.d, x.d));
    } else {
      acc = Rows4(acc.a + x.a, acc.b + x.b, acc.c + x.c, acc.d + x.d);
    }
  }
  return acc;
}

fn write_output(b: u32, row: u32, c: u32, o: vec4<f32>) {
  let T = params.T;
  if (row >= T) { return; }
  let at = layout_at(params.o, b, row) + 4u * c;
  packed_out[at] = o.x;
  packed_out[at + 1u] = o.y;
  packed_out[at + 2u] = o.z;
  packed_out[at + 3u] = o.w;
}

// Rows first … first+3 (x.a … x.d) at chunk c.
fn write_output4(b: u32, first: u32, c: u32, x: Rows4) {
  write_output(b, first, c, x.a);
  write_output(b, first + 1u, c, x.b);
  write_output(b, first + 2u, c, x.c);
  write_output(b, first + 3u, c, x.d);
}

fn write_lse(b: u32, row: u32, lse: f32) {
  if (row < params.T) { packed_out[params.batch * params.T * HEAD_DIM + b * params.T + row] = lse; }
}

@compute @workgroup_size(16)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let T = params.T;
  let row0 = block_row0(wid);
  // Accumulators: block rows 4·rg … +3, D chunks 4·cg … +3.
  let rg = lane / 4u;
  let cg = lane % 4u;
  let chunks = lane_chunks(cg);
  let at = place(wid.y);
  let q_rows = rows16(row0);
  // Per block row: the running maximum (the same in every lane) and this lane's share of the sum.
  var running_max = Rows4(vec4<f32>(NEG_BIG), vec4<f32>(NEG_BIG), vec4<f32>(NEG_BIG), vec4<f32>(NEG_BIG));
  var lane_sum = ZERO4;
  var o = ZERO16;
  for (var j0 = 0u; j0 < T; j0 += TILE) {
    // Scores of the 16 block rows with keys j0 + 4·lane … +3.
    let k_rows = rows4(j0 + 4u * lane);
    let valid = inside4(j0 + 4u * lane);
    var s = product(ZERO16, q, k, at, q_rows, k_rows, depth_of(valid));
    s = scale16(s, params.scale);
    let masked = vec4<f32>(NEG_BIG);
    s = Rows16(Rows4(select(masked, s.a.a, valid), select(masked, s.a.b, valid), select(masked, s.a.c, valid), select(masked, s.a.d, valid)),
               Rows4(select(masked, s.b.a, valid), select(masked, s.b.b, valid), select(masked, s.b.c, valid), select(masked, s.b.d, valid)),
               Rows4(select(masked, s.c.a, valid), select(masked, s.c.b, valid), select(masked, s.c.c, valid), select(masked, s.c.d, valid)),
               Rows4(select(masked, s.d.a, valid), select(masked, s.d.b, valid), select(masked, s.d.c, valid), select(masked, s.d.d, valid)));
    store_partials(lane, Rows4(row_max(s.a), row_max(s.b), row_max(s.c), row_max(s.d)));
    workgroupBarrier();
    // Online softmax: rescale what was accumulated under the old maximum.
    let tile_max = reduce_partials(true);
    let new_max = Rows4(max(running_max.a, tile_max.a), max(running_max.b, tile_max.b),
                        max(running_max.c, tile_max.c), max(running_max.d, tile_max.d));
    let rescale = Rows4(exp(running_max.a - new_max.a), exp(running_max.b - new_max.b),
                        exp(running_max.c - new_max.c), exp(running_max.d - new_max.d));
    running_max = new_max;
    let p = Rows16(exp_rows(s.a, new_max.a), exp_rows(s.b, new_max.b), exp_rows(s.c, new_max.c), exp_rows(s.d, new_max.d));
    lane_sum = Rows4(lane_sum.a * rescale.a + row_sum(p.a), lane_sum.b * rescale.b + row_sum(p.b),
                     lane_sum.c * rescale.c + row_sum(p.c), lane_sum.d * rescale.d + row_sum(p.d));
    store_tile(false, 4u * lane, p);
    workgroupBarrier();
    // o (rows 4·rg …, chunks 4·cg …) = rescale·o + P·v.
    o = scale_chunks(o, pick(rescale, rg));
    let count = lane_count(min(TILE, T - j0), rg);
    for (var j = 0u; j < count; j++) {
      o = add_outer_chunks(o, tile_at(false, j, rg), texels(v, at, j0 + j, chunks));
    }
  }
  store_partials(lane, lane_sum);
  workgroupBarrier();
  let total = pick(reduce_partials(false), rg);
  o = scale_chunks(o, 1.0 / total);
  let first = row0 + 4u * rg;
  let inside = chunks_inside(cg);
  if (inside.x) { write_output4(wid.y, first, chunks.x, o.a); }
  if (inside.y) { write_output4(wid.y, first, chunks.y, o.b); }
  if (inside.z) { write_output4(wid.y, first, chunks.z, o.c); }
  if (inside.w) { write_output4(wid.y, first, chunks.w, o.d); }
  if (cg == 0u) {
    let lse = pick(running_max, rg) + log(total);
    write_lse(wid.y, first, lse.x);
    write_lse(wid.y, first + 1u, lse.y);
    write_lse(wid.y, first + 2u, lse.z);
    write_lse(wid.y, first + 3u, lse.w);
  }
}
