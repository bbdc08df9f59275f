// Fused scaled dot-product attention, FlashAttention-style: a block of 16 rows streams the other
// side in tiles of 64 rows; each tile's 16×64 scores pass through workgroup memory and are folded
// into an online softmax, so no T×T matrix is ever stored.
// Register blocking: a workgroup is 16 threads (lanes); every lane works on all 16 block rows,
// with 4 tile rows of its own for the scores (16×4) and one vec4 chunk of D for the accumulators
// (16 × vec4). Reads of the block's rows are then the same address in every lane (uniform: one
// load, broadcast), and only the lane's own tile rows or D chunk differ, so each per-lane (gather)
// load feeds 16 multiply-adds: gathers are what costs most on CPU adapters. No private arrays
// (indexed ones spill to scratch memory there); K and V come straight from storage, which CPU
// adapters cache better than they stage through workgroup memory.
// Layout: q, k, v are [batch, T, D] (batch = B·H; D ≤ 64, a multiple of 4). `packed` is flat: the
// output o [batch, T, D], then lse [batch, T], lse_i = log Σ_j exp(s_ij), s_ij = scale·q_i·k_j.
// A cotangent of packed has the same layout (dO, then d lse). `grads` is [3, batch, T, D]: dq, dk, dv.
// Backward: P = exp(s − lse), dP = dO·vᵀ, δ_i = dO_i·o_i − dlse_i, dS = P∘(dP − δ),
//   dq = scale·dS·k (grad_q, over query blocks), dk = scale·dSᵀ·q and dv = Pᵀ·dO (grad_kv, over
//   key blocks); each recomputes P tile by tile, so no float atomics are needed.
// Bindings (0 is params {batch, T, scale} everywhere):
//   attention_forward: 1 q, 2 k, 3 v (read), 4 packed (write)
//   attention_delta:   1 packed, 2 cotangent (read), 3 delta [batch, T] (write); 64 threads, one per row
//   attention_grad_q:  1 q, 2 k, 3 v, 4 packed, 5 cotangent, 6 delta (read), 7 grads (write dq)
//   attention_grad_kv: same bindings, writes the dk and dv slots of grads
// Workgroup (forward, grad_q, grad_kv): 16. Grid: (ceil(T / 16), batch).
// Override: HEAD_DIM (D).
override HEAD_DIM: u32 = 64u;

const BLOCK = 16u;
const TILE = 64u;
const LANES = 16u;
const NEG_BIG: f32 = -3.0e38;  // below any score; exp(NEG_BIG − finite) = 0

struct Params { batch: u32, T: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> params: Params;
// Inputs are read as vec4s: on CPU adapters each storage read is a loop over the SIMD lanes, so
// one vec4 read costs about what one f32 read does.
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;

// Four vec4s: four rows of four values, or sixteen per-row scalars (a = rows 0–3, …).
struct Rows4 { a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32> }
// Sixteen rows of four values: rows 0–3 in a, 4–7 in b, ….
struct Rows16 { a: Rows4, b: Rows4, c: Rows4, d: Rows4 }
// Element offsets of sixteen rows (a = rows 0–3, …).
struct Offsets16 { a: vec4<u32>, b: vec4<u32>, c: vec4<u32>, d: vec4<u32> }

const ZERO4 = Rows4(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
const ZERO16 = Rows16(ZERO4, ZERO4, ZERO4, ZERO4);

// x += outer(p, y): row i gains p[i]·y.
fn add_outer(x: Rows4, p: vec4<f32>, y: vec4<f32>) -> Rows4 {
  return Rows4(fma(vec4<f32>(p.x), y, x.a), fma(vec4<f32>(p.y), y, x.b), fma(vec4<f32>(p.z), y, x.c), fma(vec4<f32>(p.w), y, x.d));
}

fn add_outer16(x: Rows16, p: Rows4, y: vec4<f32>) -> Rows16 {
  return Rows16(add_outer(x.a, p.a, y), add_outer(x.b, p.b, y), add_outer(x.c, p.c, y), add_outer(x.d, p.d, y));
}

fn scale_rows(x: Rows4, s: vec4<f32>) -> Rows4 { return Rows4(x.a * s.x, x.b * s.y, x.c * s.z, x.d * s.w); }

fn scale_rows16(x: Rows16, s: Rows4) -> Rows16 {
  return Rows16(scale_rows(x.a, s.a), scale_rows(x.b, s.b), scale_rows(x.c, s.c), scale_rows(x.d, s.d));
}

fn scale16(x: Rows16, s: f32) -> Rows16 { return scale_rows16(x, Rows4(vec4<f32>(s), vec4<f32>(s), vec4<f32>(s), vec4<f32>(s))); }

// Offsets of rows first … first + 15, clamped to the batch's last row: rows past T compute on
// copies (every thread must reach the barriers) and are masked or not written.
fn offsets16(base: u32, first: u32) -> Offsets16 {
  let last = vec4<u32>(params.T - 1u);
  let step = vec4<u32>(0u, 1u, 2u, 3u);
  return Offsets16(base + min(vec4<u32>(first) + step, last) * HEAD_DIM, base + min(vec4<u32>(first + 4u) + step, last) * HEAD_DIM,
                   base + min(vec4<u32>(first + 8u) + step, last) * HEAD_DIM, base + min(vec4<u32>(first + 12u) + step, last) * HEAD_DIM);
}

fn offsets4(base: u32, first: u32) -> vec4<u32> {
  return base + min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.T - 1u)) * HEAD_DIM;
}

fn inside4(first: u32) -> vec4<bool> {
  return vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.T);
}

// Elements 4c … 4c+3 of four rows (element offsets o), transposed: column e holds element 4c + e
// of each row.
fn q_chunk(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  let at = o / 4u + c;
  return transpose(mat4x4<f32>(q[at.x], q[at.y], q[at.z], q[at.w]));
}
fn k_chunk(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  let at = o / 4u + c;
  return transpose(mat4x4<f32>(k[at.x], k[at.y], k[at.z], k[at.w]));
}
fn v_chunk(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  let at = o / 4u + c;
  return transpose(mat4x4<f32>(v[at.x], v[at.y], v[at.z], v[at.w]));
}

// s += Σ_e outer(block rows at d = 4c + e, m[e]): a 16×4 block over one chunk of D.
fn add_chunk(s: Rows16, second: bool, c: u32, m: mat4x4<f32>) -> Rows16 {
  var x = add_outer16(s, block_at(second, 4u * c), m[0]);
  x = add_outer16(x, block_at(second, 4u * c + 1u), m[1]);
  x = add_outer16(x, block_at(second, 4u * c + 2u), m[2]);
  return add_outer16(x, block_at(second, 4u * c + 3u), m[3]);
}

// The block's 16 rows staged transposed, [d][row] as vec4s of 4 rows, so that per d four loads,
// the same in every lane, fetch element d of every block row (forward and grad_q: q; grad_kv: k).
var<workgroup> block_t: array<vec4<f32>, HEAD_DIM * 4u>;
// grad_q: dO; grad_kv: v.
var<workgroup> block_t2: array<vec4<f32>, HEAD_DIM * 4u>;

fn block_at(second: bool, d: u32) -> Rows4 {
  if (second) { return Rows4(block_t2[4u * d], block_t2[4u * d + 1u], block_t2[4u * d + 2u], block_t2[4u * d + 3u]); }
  return Rows4(block_t[4u * d], block_t[4u * d + 1u], block_t[4u * d + 2u], block_t[4u * d + 3u]);
}

fn stage_block(second: bool, d: u32, x: Rows4) {
  if (second) {
    block_t2[4u * d] = x.a; block_t2[4u * d + 1u] = x.b; block_t2[4u * d + 2u] = x.c; block_t2[4u * d + 3u] = x.d;
  } else {
    block_t[4u * d] = x.a; block_t[4u * d + 1u] = x.b; block_t[4u * d + 2u] = x.c; block_t[4u * d + 3u] = x.d;
  }
}

// Stages chunk c of the block's rows, given as four transposed 4×4 chunks (rows 0–3, 4–7, …).
fn stage_chunk(second: bool, c: u32, a: mat4x4<f32>, b: mat4x4<f32>, cc: mat4x4<f32>, d: mat4x4<f32>) {
  stage_block(second, 4u * c, Rows4(a[0], b[0], cc[0], d[0]));
  stage_block(second, 4u * c + 1u, Rows4(a[1], b[1], cc[1], d[1]));
  stage_block(second, 4u * c + 2u, Rows4(a[2], b[2], cc[2], d[2]));
  stage_block(second, 4u * c + 3u, Rows4(a[3], b[3], cc[3], d[3]));
}

// Tiles of P (forward: probabilities) and dS, stored [tile row][block rows 4g … 4g+3] as vec4s,
// so that a tile row's 16 values (the same addresses in every lane) are four vec4 reads.
var<workgroup> tile_p: array<vec4<f32>, TILE * 4u>;
var<workgroup> tile_ds: array<vec4<f32>, TILE * 4u>;

fn store_tile_row(to_ds: bool, at: u32, x: vec4<f32>) {
  if (to_ds) { tile_ds[at] = x; } else { tile_p[at] = x; }
}

// Stores rows 4g … 4g+3 (x.a … x.d, each over tile rows col … col+3).
fn store_group(to_ds: bool, g: u32, col: u32, x: Rows4) {
  let m = transpose(mat4x4<f32>(x.a, x.b, x.c, x.d));
  store_tile_row(to_ds, col * 4u + g, m[0]);
  store_tile_row(to_ds, (col + 1u) * 4u + g, m[1]);
  store_tile_row(to_ds, (col + 2u) * 4u + g, m[2]);
  store_tile_row(to_ds, (col + 3u) * 4u + g, m[3]);
}

// Stores the lane's 16×4 block at tile rows col … col+3.
fn store_tile(to_ds: bool, col: u32, x: Rows16) {
  store_group(to_ds, 0u, col, x.a);
  store_group(to_ds, 1u, col, x.b);
  store_group(to_ds, 2u, col, x.c);
  store_group(to_ds, 3u, col, x.d);
}

// Tile row j: one value per block row.
fn tile_col(from_ds: bool, j: u32) -> Rows4 {
  if (from_ds) { return Rows4(tile_ds[4u * j], tile_ds[4u * j + 1u], tile_ds[4u * j + 2u], tile_ds[4u * j + 3u]); }
  return Rows4(tile_p[4u * j], tile_p[4u * j + 1u], tile_p[4u * j + 2u], tile_p[4u * j + 3u]);
}

// ---------------------------------------------------------------------------------------- forward

@group(0) @binding(4) var<storage, read_write> packed_out: array<f32>;

// [block row][lane]: each lane's partial row maxima (per tile) and, at the end, partial sums.
var<workgroup> partial: array<f32, BLOCK * LANES>;

fn max4(x: vec4<f32>) -> f32 { return max(max(x.x, x.y), max(x.z, x.w)); }
fn sum4(x: vec4<f32>) -> f32 { return x.x + x.y + x.z + x.w; }
fn row_max(x: Rows4) -> vec4<f32> { return vec4<f32>(max4(x.a), max4(x.b), max4(x.c), max4(x.d)); }
fn row_sum(x: Rows4) -> vec4<f32> { return vec4<f32>(sum4(x.a), sum4(x.b), sum4(x.c), sum4(x.d)); }

fn exp_rows(x: Rows4, m: vec4<f32>) -> Rows4 { return Rows4(exp(x.a - m.x), exp(x.b - m.y), exp(x.c - m.z), exp(x.d - m.w)); }

fn store_partials(lane: u32, x: Rows4) {
  partial[0u * LANES + lane] = x.a.x; partial[1u * LANES + lane] = x.a.y; partial[2u * LANES + lane] = x.a.z; partial[3u * LANES + lane] = x.a.w;
  partial[4u * LANES + lane] = x.b.x; partial[5u * LANES + lane] = x.b.y; partial[6u * LANES + lane] = x.b.z; partial[7u * LANES + lane] = x.b.w;
  partial[8u * LANES + lane] = x.c.x; partial[9u * LANES + lane] = x.c.y; partial[10u * LANES + lane] = x.c.z; partial[11u * LANES + lane] = x.c.w;
  partial[12u * LANES + lane] = x.d.x; partial[13u * LANES + lane] = x.d.y; partial[14u * LANES + lane] = x.d.z; partial[15u * LANES + lane] = x.d.w;
}

fn partial4(first: u32, l: u32) -> vec4<f32> {
  return vec4<f32>(partial[first * LANES + l], partial[(first + 1u) * LANES + l], partial[(first + 2u) * LANES + l], partial[(first + 3u) * LANES + l]);
}

// Max (or sum) over the lanes' partials of every block row; the loads are uniform across lanes.
fn reduce_partials(take_max: bool) -> Rows4 {
  let start = vec4<f32>(select(0.0, NEG_BIG, take_max));
  var acc = Rows4(start, start, start, start);
  for (var l = 0u; l < LANES; l++) {
    let x = Rows4(partial4(0u, l), partial4(4u, l), partial4(8u, l), partial4(12u, l));
    if (take_max) {
      acc = Rows4(max(acc.a, x.a), max(acc.b, x.b), max(acc.c, x.c), max(acc.d, x.d));
    } else {
      acc = Rows4(acc.a + x.a, acc.b + x.b, acc.c + x.c, acc.d + x.d);
    }
  }
  return acc;
}

fn write_output(b: u32, row: u32, lane: u32, o: vec4<f32>, lse: f32) {
  let T = params.T;
  if (row >= T) { return; }
  let at = (b * T + row) * HEAD_DIM + 4u * lane;
  packed_out[at] = o.x;
  packed_out[at + 1u] = o.y;
  packed_out[at + 2u] = o.z;
  packed_out[at + 3u] = o.w;
  if (lane == 0u) { packed_out[params.batch * T * HEAD_DIM + b * T + row] = lse; }
}

fn write_output4(b: u32, first: u32, lane: u32, o: Rows4, lse: vec4<f32>) {
  write_output(b, first, lane, o.a, lse.x);
  write_output(b, first + 1u, lane, o.b, lse.y);
  write_output(b, first + 2u, lane, o.c, lse.z);
  write_output(b, first + 3u, lane, o.d, lse.w);
}

@compute @workgroup_size(16)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let T = params.T;
  let base = wid.y * T * HEAD_DIM;
  let row0 = wid.x * BLOCK;
  let chunk = min(lane, HEAD_DIM / 4u - 1u) * 4u;
  let q_rows = offsets16(base, row0);
  // Per block row: the running maximum (the same in every lane) and this lane's share of the sum.
  var running_max = Rows4(vec4<f32>(NEG_BIG), vec4<f32>(NEG_BIG), vec4<f32>(NEG_BIG), vec4<f32>(NEG_BIG));
  var lane_sum = ZERO4;
  var o = ZERO16;
  for (var c = lane; c < HEAD_DIM / 4u; c += LANES) {
    stage_chunk(false, c, q_chunk(q_rows.a, c), q_chunk(q_rows.b, c), q_chunk(q_rows.c, c), q_chunk(q_rows.d, c));
  }
  workgroupBarrier();
  for (var j0 = 0u; j0 < T; j0 += TILE) {
    // Scores of the 16 block rows with keys j0 + 4·lane … +3.
    let k_rows = offsets4(base, j0 + 4u * lane);
    var s = ZERO16;
    for (var c = 0u; c < HEAD_DIM / 4u; c++) { s = add_chunk(s, false, c, k_chunk(k_rows, c)); }
    let valid = inside4(j0 + 4u * lane);
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
    // o (16 block rows, chunk of D) = rescale·o + P·v.
    o = scale_rows16(o, rescale);
    let count = min(TILE, T - j0);
    for (var j = 0u; j < count; j++) {
      o = add_outer16(o, tile_col(false, j), v[(base + (j0 + j) * HEAD_DIM + chunk) / 4u]);
    }
  }
  store_partials(lane, lane_sum);
  workgroupBarrier();
  let total = reduce_partials(false);
  if (4u * lane >= HEAD_DIM) { return; }
  let inverse = Rows4(1.0 / total.a, 1.0 / total.b, 1.0 / total.c, 1.0 / total.d);
  o = scale_rows16(o, inverse);
  write_output4(wid.y, row0, lane, o.a, running_max.a + log(total.a));
  write_output4(wid.y, row0 + 4u, lane, o.b, running_max.b + log(total.b));
  write_output4(wid.y, row0 + 8u, lane, o.c, running_max.c + log(total.c));
  write_output4(wid.y, row0 + 12u, lane, o.d, running_max.d + log(total.d));
}

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
  var total = 0.0;
  for (var c = 0u; c < HEAD_DIM / 4u; c++) { total += dot(d_cotangent[i * HEAD_DIM / 4u + c], d_packed[i * HEAD_DIM / 4u + c]); }
  let lse_grad = rows * HEAD_DIM + i;
  delta_out[i] = total - d_cotangent[lse_grad / 4u][lse_grad % 4u];
}

// --------------------------------------------------------------------------------------- backward

@group(0) @binding(4) var<storage, read> packed: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> cotangent: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> grads: array<f32>;

fn do_chunk(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  let at = o / 4u + c;
  return transpose(mat4x4<f32>(cotangent[at.x], cotangent[at.y], cotangent[at.z], cotangent[at.w]));
}

// lse of four rows (offsets as above); lse = +big past T makes their P zero.
fn lse_at(o: vec4<u32>, valid: vec4<bool>) -> vec4<f32> {
  let at = params.batch * params.T * HEAD_DIM + o / HEAD_DIM;
  let values = vec4<f32>(packed[at.x / 4u][at.x % 4u], packed[at.y / 4u][at.y % 4u], packed[at.z / 4u][at.z % 4u], packed[at.w / 4u][at.w % 4u]);
  return select(vec4<f32>(-NEG_BIG), values, valid);
}

fn delta_at(o: vec4<u32>) -> vec4<f32> {
  let at = o / HEAD_DIM;
  return vec4<f32>(delta[at.x], delta[at.y], delta[at.z], delta[at.w]);
}

fn write_grad(slot: u32, base: u32, row: u32, chunk: u32, g: vec4<f32>) {
  if (row >= params.T) { return; }
  let at = slot + base + row * HEAD_DIM + chunk;
  grads[at] = g.x;
  grads[at + 1u] = g.y;
  grads[at + 2u] = g.z;
  grads[at + 3u] = g.w;
}

fn write_grads4(slot: u32, base: u32, first: u32, chunk: u32, g: Rows4) {
  write_grad(slot, base, first, chunk, g.a);
  write_grad(slot, base, first + 1u, chunk, g.b);
  write_grad(slot, base, first + 2u, chunk, g.c);
  write_grad(slot, base, first + 3u, chunk, g.d);
}

fn write_grads16(slot: u32, base: u32, row0: u32, chunk: u32, g: Rows16) {
  write_grads4(slot, base, row0, chunk, g.a);
  write_grads4(slot, base, row0 + 4u, chunk, g.b);
  write_grads4(slot, base, row0 + 8u, chunk, g.c);
  write_grads4(slot, base, row0 + 12u, chunk, g.d);
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
  let base = wid.y * T * HEAD_DIM;
  let row0 = wid.x * BLOCK;
  let chunk = min(lane, HEAD_DIM / 4u - 1u) * 4u;
  let q_rows = offsets16(base, row0);
  let all = vec4<bool>(true);
  let lse = Rows4(lse_at(q_rows.a, all), lse_at(q_rows.b, all), lse_at(q_rows.c, all), lse_at(q_rows.d, all));
  let dlt = Rows4(delta_at(q_rows.a), delta_at(q_rows.b), delta_at(q_rows.c), delta_at(q_rows.d));
  var dq = ZERO16;
  for (var c = lane; c < HEAD_DIM / 4u; c += LANES) {
    stage_chunk(false, c, q_chunk(q_rows.a, c), q_chunk(q_rows.b, c), q_chunk(q_rows.c, c), q_chunk(q_rows.d, c));
    stage_chunk(true, c, do_chunk(q_rows.a, c), do_chunk(q_rows.b, c), do_chunk(q_rows.c, c), do_chunk(q_rows.d, c));
  }
  workgroupBarrier();
  for (var j0 = 0u; j0 < T; j0 += TILE) {
    // dS of the 16 block rows with keys j0 + 4·lane … +3.
    let k_rows = offsets4(base, j0 + 4u * lane);
    var s = ZERO16;
    var dp = ZERO16;
    for (var c = 0u; c < HEAD_DIM / 4u; c++) {
      s = add_chunk(s, false, c, k_chunk(k_rows, c));
      dp = add_chunk(dp, true, c, v_chunk(k_rows, c));
    }
    let valid = inside4(j0 + 4u * lane);
    store_tile(true, 4u * lane, Rows16(ds_rows(s.a, dp.a, lse.a, dlt.a, valid), ds_rows(s.b, dp.b, lse.b, dlt.b, valid),
                                       ds_rows(s.c, dp.c, lse.c, dlt.c, valid), ds_rows(s.d, dp.d, lse.d, dlt.d, valid)));
    workgroupBarrier();
    // dq (16 block rows, chunk of D) += dS·k.
    let count = min(TILE, T - j0);
    for (var j = 0u; j < count; j++) {
      dq = add_outer16(dq, tile_col(true, j), k[(base + (j0 + j) * HEAD_DIM + chunk) / 4u]);
    }
    workgroupBarrier();
  }
  if (4u * lane < HEAD_DIM) { write_grads16(0u, base, row0, chunk, scale16(dq, params.scale)); }
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
  let base = wid.y * T * HEAD_DIM;
  let row0 = wid.x * BLOCK;
  let chunk = min(lane, HEAD_DIM / 4u - 1u) * 4u;
  let k_rows = offsets16(base, row0);
  var dk = ZERO16;
  var dv = ZERO16;
  for (var c = lane; c < HEAD_DIM / 4u; c += LANES) {
    stage_chunk(false, c, k_chunk(k_rows.a, c), k_chunk(k_rows.b, c), k_chunk(k_rows.c, c), k_chunk(k_rows.d, c));
    stage_chunk(true, c, v_chunk(k_rows.a, c), v_chunk(k_rows.b, c), v_chunk(k_rows.c, c), v_chunk(k_rows.d, c));
  }
  workgroupBarrier();
  for (var i0 = 0u; i0 < T; i0 += TILE) {
    // P and dS of the 16 block keys with queries i0 + 4·lane … +3.
    let q_rows = offsets4(base, i0 + 4u * lane);
    var s = ZERO16;
    var dp = ZERO16;
    for (var c = 0u; c < HEAD_DIM / 4u; c++) {
      s = add_chunk(s, false, c, q_chunk(q_rows, c));
      dp = add_chunk(dp, true, c, do_chunk(q_rows, c));
    }
    let lse = lse_at(q_rows, inside4(i0 + 4u * lane));
    let dlt = delta_at(q_rows);
    let p = Rows16(p_rows(s.a, lse), p_rows(s.b, lse), p_rows(s.c, lse), p_rows(s.d, lse));
    store_tile(false, 4u * lane, p);
    store_tile(true, 4u * lane, Rows16(ds_of(p.a, dp.a, dlt), ds_of(p.b, dp.b, dlt), ds_of(p.c, dp.c, dlt), ds_of(p.d, dp.d, dlt)));
    workgroupBarrier();
    // dv (16 block keys, chunk of D) += Pᵀ·dO;  dk += dSᵀ·q (scaled at the end).
    let count = min(TILE, T - i0);
    for (var i = 0u; i < count; i++) {
      let at = (base + (i0 + i) * HEAD_DIM + chunk) / 4u;
      dv = add_outer16(dv, tile_col(false, i), cotangent[at]);
      dk = add_outer16(dk, tile_col(true, i), q[at]);
    }
    workgroupBarrier();
  }
  if (4u * lane < HEAD_DIM) {
    let slot = params.batch * T * HEAD_DIM;
    write_grads16(slot, base, row0, chunk, scale16(dk, params.scale));
    write_grads16(2u * slot, base, row0, chunk, dv);
  }
}
