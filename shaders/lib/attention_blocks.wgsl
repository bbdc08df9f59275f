// What the fused attention kernels share (attention.wgsl: pack and forward; attention_backward.wgsl):
// the HEAD_DIM override, the params block and the q, k, v textures (bindings 0–3), the 4- and
// 16-row register blocks and their arithmetic, texel fetches, and the two workgroup-memory tiles.
override HEAD_DIM: u32 = 64u;

const BLOCK = 16u;
const TILE = 64u;
const LANES = 16u;
const NEG_BIG: f32 = -3.0e38;  // below any score; exp(NEG_BIG − finite) = 0

// Where the rows of an operand lie in its buffer, in elements: batch b (= outer·heads + head) and
// row t start at outer·`outer` + head·`head` + t·`row`, and the parts of q, k, v (and of their
// gradients) are `part` apart. A [3, batch, T, D] stack has heads = 1, outer T·D, row D, part
// batch·T·D; a [B, T, 3, H, D] projection (heads = H) outer T·3HD, head D, row 3HD, part HD.
struct Layout { outer: u32, head: u32, row: u32, part: u32 }
// qkv: q, k, v and their gradients; o: the output, dO and dŌ (part unused). attention_pack reads
// its operand from element pack_start on, laid out as `pack`.
// (_pad0, _pad1: a struct member of a uniform block starts 16-byte aligned.)
struct Params { batch: u32, T: u32, scale: f32, per_layer: u32, heads: u32, pack_start: u32, _pad0: u32, _pad1: u32, pack: Layout, qkv: Layout, o: Layout }
@group(0) @binding(0) var<uniform> params: Params;

fn layout_at(rows: Layout, b: u32, t: u32) -> u32 {
  return (b / params.heads) * rows.outer + (b % params.heads) * rows.head + t * rows.row;
}
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

// A lane's tile rows first … first+3 (`valid`: inside4): how many chunks of D its dot products take,
// 0 if all lie past T. A per-lane loop bound: a SIMD group whose lanes all lie past T (at small T,
// most of a 64-row tile) skips its products on CPU adapters instead of computing masked ones.
fn depth_of(valid: vec4<bool>) -> u32 { return select(0u, HEAD_DIM / 4u, valid.x); }

// Texel c (elements 4c … 4c+3) of row t, and of four rows transposed (column e holds element 4c + e).
fn texel(x: texture_2d_array<f32>, p: Place, t: u32, c: u32) -> vec4<f32> { return textureLoad(x, vec2<u32>(c, p.y0 + t), p.layer, 0); }
fn chunk(x: texture_2d_array<f32>, p: Place, t: vec4<u32>, c: u32) -> mat4x4<f32> {
  return transpose(mat4x4<f32>(texel(x, p, t.x, c), texel(x, p, t.y, c), texel(x, p, t.z, c), texel(x, p, t.w, c)));
}
// Texels c.x … c.w of row t.
fn texels(x: texture_2d_array<f32>, p: Place, t: u32, c: vec4<u32>) -> Rows4 {
  return Rows4(texel(x, p, t, c.x), texel(x, p, t, c.y), texel(x, p, t, c.z), texel(x, p, t, c.w));
}

// x += Σ_e outer(g[e], m[e]): four rows' chunk g (transposed) against four tile rows' chunk m.
fn add_group(x: Rows4, g: mat4x4<f32>, m: mat4x4<f32>) -> Rows4 {
  return add_outer(add_outer(add_outer(add_outer(x, g[0], m[0]), g[1], m[1]), g[2], m[2]), g[3], m[3]);
}

// The 4-row groups of the workgroup's block that hold rows below T (4 but in the last block of a T
// that is not a multiple of 16); set by block_row0. The same in every thread of a workgroup, so
// the groups past it are skipped by a branch, not masked.
var<private> block_groups: u32;

// The first row of the workgroup's block; sets block_groups.
fn block_row0(wid: vec3<u32>) -> u32 {
  let row0 = wid.x * BLOCK;
  block_groups = min(4u, (params.T - row0 + 3u) / 4u);
  return row0;
}

// s += (chunk c of the block rows of x)·mᵀ, m the tile rows' chunk (transposed), over the block's
// groups of rows below T.
fn add_block_chunk(s: Rows16, x: texture_2d_array<f32>, p: Place, rows: Index16, c: u32, m: mat4x4<f32>) -> Rows16 {
  var r = s;
  r.a = add_group(r.a, chunk(x, p, rows.a, c), m);
  if (block_groups > 1u) { r.b = add_group(r.b, chunk(x, p, rows.b, c), m); }
  if (block_groups > 2u) { r.c = add_group(r.c, chunk(x, p, rows.c, c), m); }
  if (block_groups > 3u) { r.d = add_group(r.d, chunk(x, p, rows.d, c), m); }
  return r;
}

// acc + x(block rows)·y(tile rows)ᵀ over the first `depth` chunks of D (0 where the tile rows lie past T).
fn product(acc: Rows16, x: texture_2d_array<f32>, y: texture_2d_array<f32>, p: Place, block: Index16, tile: vec4<u32>, depth: u32) -> Rows16 {
  var s = acc;
  for (var c = 0u; c < depth; c++) {
    s = add_block_chunk(s, x, p, block, c, chunk(y, p, tile, c));
  }
  return s;
}

// How many tile rows a thread accumulating block rows 4·rg … +3 takes: none past T.
fn lane_count(count: u32, rg: u32) -> u32 { return select(0u, count, rg < block_groups); }

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

// Tile row j at block rows 4g … 4g+3.
fn tile_at(from_ds: bool, j: u32, g: u32) -> vec4<f32> {
  if (from_ds) { return tile_ds[4u * j + g]; }
  return tile_p[4u * j + g];
}
