// The backward of fused attention (see attention.wgsl for the layout, the register blocking and
// why inputs are texels; lib/attention_blocks.wgsl holds what every attention file uses, and
// lib/attention_grads.wgsl what this file shares with attention_double_backward.wgsl):
//   P = exp(s − lse), dP = dO·vᵀ, δ_i = dO_i·o_i − dlse_i, dS = P∘(dP − δ),
//   dq = scale·dS·k (grad_q, over query blocks), dk = scale·dSᵀ·q and dv = Pᵀ·dO (grad_kv, over
//   key blocks); each recomputes P tile by tile, so no float atomics are needed.
// Bindings (0 is params, lib/attention_blocks.wgsl, everywhere):
//   attention_delta:   1 packed, 2 cotangent (read), 3 delta [batch, T] (write); 64 threads, one per row
//   attention_grad_q:  1 q, 2 k, 3 v, 4 dO (textures), 5 packed, 6 delta (read), 7 grads (write dq)
//   attention_grad_kv: same bindings, writes the dk and dv slots of grads
// Workgroup (grad_q, grad_kv): 16 (D ≤ 64: at most 16 chunks). Grid: (ceil(T / 16), batch).
// Override: HEAD_DIM (D).
#include "lib/attention_blocks.wgsl"
#include "lib/attention_grads.wgsl"

// ------------------------------------------------------------------------------------------ delta

@group(0) @binding(1) var<storage, read> d_packed: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> d_cotangent: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> delta_out: array<f32>;

@compute @workgroup_size(64)
fn attention_delta(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let rows = params.batch * params.T;
  let i = (wid.x + wid.y * groups.x) * 64u + lid;
  if (i >= rows) { return; }
  let row = layout_at(params.o, i / params.T, i % params.T) / 4u;
  var total = 0.0;
  for (var c = 0u; c < HEAD_DIM / 4u; c++) { total += dot(d_cotangent[row + c], d_packed[row + c]); }
  let lse_grad = rows * HEAD_DIM + i;
  delta_out[i] = total - d_cotangent[lse_grad / 4u][lse_grad % 4u];
}

// --------------------------------------------------------------------------------------- backward

@group(0) @binding(6) var<storage, read> delta: array<f32>;

fn delta_at(b: u32, t: vec4<u32>) -> vec4<f32> {
  let at = b * params.T + t;
  return vec4<f32>(delta[at.x], delta[at.y], delta[at.z], delta[at.w]);
}

// dS = exp(scale·s − lse)·(dp − δ) for four block rows (per-row lse, δ) against four tile rows.
fn ds_rows(s: Rows4, dp: Rows4, lse: vec4<f32>, dlt: vec4<f32>, valid: vec4<bool>) -> Rows4 {
  let zero = vec4<f32>(0.0);
  return Rows4(select(zero, exp(s.a * params.scale - lse.x) * (dp.a - dlt.x), valid),
               select(zero, exp(s.b * params.scale - lse.y) * (dp.b - dlt.y), valid),
               select(zero, exp(s.c * params.scale - lse.z) * (dp.c - dlt.z), valid),
               select(zero, exp(s.d * params.scale - lse.w) * (dp.d - dlt.w), valid));
}

@compute @workgroup_size(16)
fn attention_grad_q(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let T = params.T;
  let row0 = block_row0(wid);
  let rg = lane / 4u;
  let cg = lane % 4u;
  let chunks = lane_chunks(cg);
  let at = place(wid.y);
  let q_rows = rows16(row0);
  let all = vec4<bool>(true);
  let b = wid.y;
  let lse = Rows4(lse_at(b, q_rows.a, all), lse_at(b, q_rows.b, all), lse_at(b, q_rows.c, all), lse_at(b, q_rows.d, all));
  let dlt = Rows4(delta_at(b, q_rows.a), delta_at(b, q_rows.b), delta_at(b, q_rows.c), delta_at(b, q_rows.d));
  var dq = ZERO16;
  for (var j0 = 0u; j0 < T; j0 += TILE) {
    // dS of the 16 block rows with keys j0 + 4·lane … +3.
    let k_rows = rows4(j0 + 4u * lane);
    let valid = inside4(j0 + 4u * lane);
    let s = product(ZERO16, q, k, at, q_rows, k_rows, depth_of(valid));
    let dp = product(ZERO16, grad_out, v, at, q_rows, k_rows, depth_of(valid));
    store_tile(true, 4u * lane, Rows16(ds_rows(s.a, dp.a, lse.a, dlt.a, valid), ds_rows(s.b, dp.b, lse.b, dlt.b, valid),
                                       ds_rows(s.c, dp.c, lse.c, dlt.c, valid), ds_rows(s.d, dp.d, lse.d, dlt.d, valid)));
    workgroupBarrier();
    // dq (rows 4·rg …, chunks 4·cg …) += dS·k.
    let count = lane_count(min(TILE, T - j0), rg);
    for (var j = 0u; j < count; j++) {
      dq = add_outer_chunks(dq, tile_at(true, j, rg), texels(k, at, j0 + j, chunks));
    }
    workgroupBarrier();
  }
  write_qkv_grad(0u, b, row0 + 4u * rg, cg, scale16(dq, params.scale));
}

// P and dS of four block keys (rows of s, dp) against four queries (lanes' columns).
fn p_rows(s: Rows4, lse: vec4<f32>) -> Rows4 {
  return Rows4(exp(s.a * params.scale - lse), exp(s.b * params.scale - lse), exp(s.c * params.scale - lse), exp(s.d * params.scale - lse));
}

fn ds_of(p: Rows4, dp: Rows4, dlt: vec4<f32>) -> Rows4 {
  return Rows4(p.a * (dp.a - dlt), p.b * (dp.b - dlt), p.c * (dp.c - dlt), p.d * (dp.d - dlt));
}

@compute @workgroup_size(16)
fn attention_grad_kv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let T = params.T;
  let row0 = block_row0(wid);
  let rg = lane / 4u;
  let cg = lane % 4u;
  let chunks = lane_chunks(cg);
  let at = place(wid.y);
  let k_rows = rows16(row0);
  var dk = ZERO16;
  var dv = ZERO16;
  for (var i0 = 0u; i0 < T; i0 += TILE) {
    // P and dS of the 16 block keys with queries i0 + 4·lane … +3.
    let q_rows = rows4(i0 + 4u * lane);
    let valid = inside4(i0 + 4u * lane);
    let s = product(ZERO16, k, q, at, k_rows, q_rows, depth_of(valid));
    let dp = product(ZERO16, v, grad_out, at, k_rows, q_rows, depth_of(valid));
    let lse = lse_at(wid.y, q_rows, valid);
    let dlt = delta_at(wid.y, q_rows);
    let p = Rows16(p_rows(s.a, lse), p_rows(s.b, lse), p_rows(s.c, lse), p_rows(s.d, lse));
    store_tile(false, 4u * lane, p);
    store_tile(true, 4u * lane, Rows16(ds_of(p.a, dp.a, dlt), ds_of(p.b, dp.b, dlt), ds_of(p.c, dp.c, dlt), ds_of(p.d, dp.d, dlt)));
    workgroupBarrier();
    // dv (keys 4·rg …, chunks 4·cg …) += Pᵀ·dO;  dk += dSᵀ·q (scaled at the end).
    let count = lane_count(min(TILE, T - i0), rg);
    for (var i = 0u; i < count; i++) {
      dv = add_outer_chunks(dv, tile_at(false, i, rg), texels(grad_out, at, i0 + i, chunks));
      dk = add_outer_chunks(dk, tile_at(true, i, rg), texels(q, at, i0 + i, chunks));
    }
    workgroupBarrier();
  }
  write_qkv_grad(1u, wid.y, row0 + 4u * rg, cg, scale16(dk, params.scale));
  write_qkv_grad(2u, wid.y, row0 + 4u * rg, cg, dv);
}
