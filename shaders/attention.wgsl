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
// Layout: q, k, v are [batch, T, D] (batch = B·H; D ≤ 64, a multiple of 4). `packed` is flat: the
// output o [batch, T, D], then lse [batch, T], lse_i = log Σ_j exp(s_ij), s_ij = scale·q_i·k_j.
// A cotangent of packed has the same layout (dO, then d lse). `grads` is [3, batch, T, D]: dq, dk, dv.
// Textures: [D/4 texels wide, PER_LAYER·T rows, ceil(batch / PER_LAYER) layers]; texel (c, y, layer)
// holds elements 4c … 4c+3 of row t of batch b, y = (b mod PER_LAYER)·T + t, layer = b / PER_LAYER.
// Backward: P = exp(s − lse), dP = dO·vᵀ, δ_i = dO_i·o_i − dlse_i, dS = P∘(dP − δ),
//   dq = scale·dS·k (grad_q, over query blocks), dk = scale·dSᵀ·q and dv = Pᵀ·dO (grad_kv, over
//   key blocks); each recomputes P tile by tile, so no float atomics are needed.
// Bindings (0 is params {batch, T, scale, per_layer} everywhere):
//   attention_pack:    1 src [batch, T, D] (read), 2 texture (write); workgroup (16, 4), grid
//                      (ceil(D/64), ceil(T/4), batch)
//   attention_forward: 1 q, 2 k, 3 v (textures), 4 packed (write)
//   attention_delta:   1 packed, 2 cotangent (read), 3 delta [batch, T] (write); 64 threads, one per row
//   attention_grad_q:  1 q, 2 k, 3 v, 4 dO (textures), 5 packed, 6 delta (read), 7 grads (write dq)
//   attention_grad_kv: same bindings, writes the dk and dv slots of grads
// Workgroup (forward, grad_q, grad_kv): 16 (D ≤ 64: at most 16 chunks). Grid: (ceil(T / 16), batch).
// Override: HEAD_DIM (D).
override HEAD_DIM: u32 = 64u;

const BLOCK = 16u;
const TILE = 64u;
const LANES = 16u;
const NEG_BIG: f32 = -3.0e38;  // below any score; exp(NEG_BIG − finite) = 0

struct Params { batch: u32, T: u32, scale: f32, per_layer: u32 }
@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var q: texture_2d_array<f32>;
@group(0) @binding(2) var k: texture_2d_array<f32>;
@group(0) @binding(3) var v: texture_2d_array<f32>;

// Four vec4s: four rows of four values, or sixteen per-row scalars (a = rows 0–3, …).
struct Rows4 { a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32> }
// Sixteen rows of four values: rows 0–3 in a, 4–7 in b, ….
struct Rows16 { a: Rows4, b: Rows4, c: Rows4, d: Rows4 }
// Sixteen row indices (a = rows 0–3, …).
struct Index16 { a: vec4<u32>, b: vec4<u32>, c: vec4<u32>, d: vec4<u32> }
// Where a batch's rows sit in the textures: rows y0 … y0 + T − 1 of `layer`.
struct Place { y0: u32, layer: u32 }

fn place(b: u32) -> Place { return Place((b % params.per_layer) * params.T, b / params.per_layer); }

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

// Rows first … first + 3, clamped to the last row: rows past T compute on copies (every thread
// must reach the barriers) and are masked or not written.
fn rows4(first: u32) -> vec4<u32> {
  return min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.T - 1u));
}

fn rows16(first: u32) -> Index16 { return Index16(rows4(first), rows4(first + 4u), rows4(first + 8u), rows4(first + 12u)); }

fn inside4(first: u32) -> vec4<bool> {
  return vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.T);
}

// Texel c (elements 4c … 4c+3) of row t, and of four rows transposed (column e holds element 4c + e).
fn q_texel(p: Place, t: u32, c: u32) -> vec4<f32> { return textureLoad(q, vec2<u32>(c, p.y0 + t), p.layer, 0); }
fn k_texel(p: Place, t: u32, c: u32) -> vec4<f32> { return textureLoad(k, vec2<u32>(c, p.y0 + t), p.layer, 0); }
fn v_texel(p: Place, t: u32, c: u32) -> vec4<f32> { return textureLoad(v, vec2<u32>(c, p.y0 + t), p.layer, 0); }
fn q_chunk(p: Place, t: vec4<u32>, c: u32) -> mat4x4<f32> {
  return transpose(mat4x4<f32>(q_texel(p, t.x, c), q_texel(p, t.y, c), q_texel(p, t.z, c), q_texel(p, t.w, c)));
}
fn k_chunk(p: Place, t: vec4<u32>, c: u32) -> mat4x4<f32> {
  return transpose(mat4x4<f32>(k_texel(p, t.x, c), k_texel(p, t.y, c), k_texel(p, t.z, c), k_texel(p, t.w, c)));
}
fn v_chunk(p: Place, t: vec4<u32>, c: u32) -> mat4x4<f32> {
  return transpose(mat4x4<f32>(v_texel(p, t.x, c), v_texel(p, t.y, c), v_texel(p, t.z, c), v_texel(p, t.w, c)));
}

// s += Σ_e outer(rows at d = 4c + e, m[e]) with the 16 rows' chunk given as four transposed 4×4s.
fn add_chunk_of(s: Rows16, a: mat4x4<f32>, b: mat4x4<f32>, cc: mat4x4<f32>, d: mat4x4<f32>, m: mat4x4<f32>) -> Rows16 {
  var x = add_outer16(s, Rows4(a[0], b[0], cc[0], d[0]), m[0]);
  x = add_outer16(x, Rows4(a[1], b[1], cc[1], d[1]), m[1]);
  x = add_outer16(x, Rows4(a[2], b[2], cc[2], d[2]), m[2]);
  return add_outer16(x, Rows4(a[3], b[3], cc[3], d[3]), m[3]);
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

// The four D chunks a lane accumulates (4·cg … 4·cg + 3, clamped; `chunks_inside` says which exist).
fn lane_chunks(cg: u32) -> vec4<u32> { return min(vec4<u32>(4u * cg) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(HEAD_DIM / 4u - 1u)); }
fn chunks_inside(cg: u32) -> vec4<bool> { return vec4<u32>(4u * cg) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(HEAD_DIM / 4u); }

// Rows 4g … 4g+3 of a 16-row quantity.
fn pick(x: Rows4, g: u32) -> vec4<f32> { return select(select(select(x.a, x.b, g == 1u), x.c, g == 2u), x.d, g == 3u); }

// Accumulators of 4 rows × 4 chunks of D (a: chunk 0, …; each Rows4 holds the 4 rows): x += outer(p, y),
// p the 4 rows' weights, y one row's 4 chunks.
fn add_outer_chunks(x: Rows16, p: vec4<f32>, y: Rows4) -> Rows16 {
  return Rows16(add_outer(x.a, p, y.a), add_outer(x.b, p, y.b), add_outer(x.c, p, y.c), add_outer(x.d, p, y.d));
}

fn scale_chunks(x: Rows16, s: vec4<f32>) -> Rows16 {
  return Rows16(scale_rows(x.a, s), scale_rows(x.b, s), scale_rows(x.c, s), scale_rows(x.d, s));
}

fn q_texels(p: Place, t: u32, c: vec4<u32>) -> Rows4 { return Rows4(q_texel(p, t, c.x), q_texel(p, t, c.y), q_texel(p, t, c.z), q_texel(p, t, c.w)); }
fn k_texels(p: Place, t: u32, c: vec4<u32>) -> Rows4 { return Rows4(k_texel(p, t, c.x), k_texel(p, t, c.y), k_texel(p, t, c.z), k_texel(p, t, c.w)); }
fn v_texels(p: Place, t: u32, c: vec4<u32>) -> Rows4 { return Rows4(v_texel(p, t, c.x), v_texel(p, t, c.y), v_texel(p, t, c.z), v_texel(p, t, c.w)); }

// Tile row j at block rows 4g … 4g+3.
fn tile_at(from_ds: bool, j: u32, g: u32) -> vec4<f32> {
  if (from_ds) { return tile_ds[4u * j + g]; }
  return tile_p[4u * j + g];
}

// ------------------------------------------------------------------------------------------- pack

@group(0) @binding(1) var<storage, read> pack_src: array<vec4<f32>>;
@group(0) @binding(2) var pack_dst: texture_storage_2d_array<rgba32float, write>;

@compute @workgroup_size(16, 4)
fn attention_pack(@builtin(global_invocation_id) gid: vec3<u32>) {
  let T = params.T;
  if (gid.x >= HEAD_DIM / 4u || gid.y >= T) { return; }
  let p = place(gid.z);
  textureStore(pack_dst, vec2<u32>(gid.x, p.y0 + gid.y), p.layer, pack_src[(gid.z * T + gid.y) * (HEAD_DIM / 4u) + gid.x]);
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
  let at = (b * T + row) * HEAD_DIM + 4u * c;
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
  let row0 = wid.x * BLOCK;
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
    var s = ZERO16;
    for (var c = 0u; c < HEAD_DIM / 4u; c++) {
      s = add_chunk_of(s, q_chunk(at, q_rows.a, c), q_chunk(at, q_rows.b, c), q_chunk(at, q_rows.c, c), q_chunk(at, q_rows.d, c), k_chunk(at, k_rows, c));
    }
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
    // o (rows 4·rg …, chunks 4·cg …) = rescale·o + P·v.
    o = scale_chunks(o, pick(rescale, rg));
    let count = min(TILE, T - j0);
    for (var j = 0u; j < count; j++) {
      o = add_outer_chunks(o, tile_at(false, j, rg), v_texels(at, j0 + j, chunks));
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

@group(0) @binding(4) var grad_out: texture_2d_array<f32>;
@group(0) @binding(5) var<storage, read> packed: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> grads: array<f32>;

fn do_texel(p: Place, t: u32, c: u32) -> vec4<f32> { return textureLoad(grad_out, vec2<u32>(c, p.y0 + t), p.layer, 0); }
fn do_texels(p: Place, t: u32, c: vec4<u32>) -> Rows4 { return Rows4(do_texel(p, t, c.x), do_texel(p, t, c.y), do_texel(p, t, c.z), do_texel(p, t, c.w)); }
fn do_chunk(p: Place, t: vec4<u32>, c: u32) -> mat4x4<f32> {
  return transpose(mat4x4<f32>(do_texel(p, t.x, c), do_texel(p, t.y, c), do_texel(p, t.z, c), do_texel(p, t.w, c)));
}

// lse of rows t of batch b; lse = +big where `valid` is false makes their P zero.
fn lse_at(b: u32, t: vec4<u32>, valid: vec4<bool>) -> vec4<f32> {
  let at = params.batch * params.T * HEAD_DIM + b * params.T + t;
  let values = vec4<f32>(packed[at.x / 4u][at.x % 4u], packed[at.y / 4u][at.y % 4u], packed[at.z / 4u][at.z % 4u], packed[at.w / 4u][at.w % 4u]);
  return select(vec4<f32>(-NEG_BIG), values, valid);
}

fn delta_at(b: u32, t: vec4<u32>) -> vec4<f32> {
  let at = b * params.T + t;
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

// Accumulators of rows first … first+3 and chunks `chunks` (see add_outer_chunks).
fn write_grads_chunks(slot: u32, base: u32, first: u32, cg: u32, g: Rows16) {
  let chunks = lane_chunks(cg);
  let inside = chunks_inside(cg);
  if (inside.x) { write_grads4(slot, base, first, 4u * chunks.x, g.a); }
  if (inside.y) { write_grads4(slot, base, first, 4u * chunks.y, g.b); }
  if (inside.z) { write_grads4(slot, base, first, 4u * chunks.z, g.c); }
  if (inside.w) { write_grads4(slot, base, first, 4u * chunks.w, g.d); }
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
    var s = ZERO16;
    var dp = ZERO16;
    for (var c = 0u; c < HEAD_DIM / 4u; c++) {
      s = add_chunk_of(s, q_chunk(at, q_rows.a, c), q_chunk(at, q_rows.b, c), q_chunk(at, q_rows.c, c), q_chunk(at, q_rows.d, c),
                       k_chunk(at, k_rows, c));
      dp = add_chunk_of(dp, do_chunk(at, q_rows.a, c), do_chunk(at, q_rows.b, c), do_chunk(at, q_rows.c, c), do_chunk(at, q_rows.d, c),
                        v_chunk(at, k_rows, c));
    }
    let valid = inside4(j0 + 4u * lane);
    store_tile(true, 4u * lane, Rows16(ds_rows(s.a, dp.a, lse.a, dlt.a, valid), ds_rows(s.b, dp.b, lse.b, dlt.b, valid),
                                       ds_rows(s.c, dp.c, lse.c, dlt.c, valid), ds_rows(s.d, dp.d, lse.d, dlt.d, valid)));
    workgroupBarrier();
    // dq (rows 4·rg …, chunks 4·cg …) += dS·k.
    let count = min(TILE, T - j0);
    for (var j = 0u; j < count; j++) {
      dq = add_outer_chunks(dq, tile_at(true, j, rg), k_texels(at, j0 + j, chunks));
    }
    workgroupBarrier();
  }
  write_grads_chunks(0u, base, row0 + 4u * rg, cg, scale16(dq, params.scale));
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
    var s = ZERO16;
    var dp = ZERO16;
    for (var c = 0u; c < HEAD_DIM / 4u; c++) {
      s = add_chunk_of(s, k_chunk(at, k_rows.a, c), k_chunk(at, k_rows.b, c), k_chunk(at, k_rows.c, c), k_chunk(at, k_rows.d, c),
                       q_chunk(at, q_rows, c));
      dp = add_chunk_of(dp, v_chunk(at, k_rows.a, c), v_chunk(at, k_rows.b, c), v_chunk(at, k_rows.c, c), v_chunk(at, k_rows.d, c),
                        do_chunk(at, q_rows, c));
    }
    let lse = lse_at(wid.y, q_rows, inside4(i0 + 4u * lane));
    let dlt = delta_at(wid.y, q_rows);
    let p = Rows16(p_rows(s.a, lse), p_rows(s.b, lse), p_rows(s.c, lse), p_rows(s.d, lse));
    store_tile(false, 4u * lane, p);
    store_tile(true, 4u * lane, Rows16(ds_of(p.a, dp.a, dlt), ds_of(p.b, dp.b, dlt), ds_of(p.c, dp.c, dlt), ds_of(p.d, dp.d, dlt)));
    workgroupBarrier();
    // dv (keys 4·rg …, chunks 4·cg …) += Pᵀ·dO;  dk += dSᵀ·q (scaled at the end).
    let count = min(TILE, T - i0);
    for (var i = 0u; i < count; i++) {
      dv = add_outer_chunks(dv, tile_at(false, i, rg), do_texels(at, i0 + i, chunks));
      dk = add_outer_chunks(dk, tile_at(true, i, rg), q_texels(at, i0 + i, chunks));
    }
    workgroupBarrier();
  }
  let slot = params.batch * T * HEAD_DIM;
  write_grads_chunks(slot, base, row0 + 4u * rg, cg, scale16(dk, params.scale));
  write_grads_chunks(2u * slot, base, row0 + 4u * rg, cg, dv);
}
