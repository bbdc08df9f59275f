// Batched matrix product through textures, for adapters that run compute shaders on the CPU
// (lavapipe, SwiftShader): there a texel fetch is a vectorised gather, while a storage-buffer read
// is a loop over the SIMD lanes, so staging both operands as rgba32float textures first pays off
// many times over. Same contract as matmul.wgsl: out[b] = op(A[b]) · op(B[b]), out is [batch, M, N].
//
// matmul_pack — writes op(X) ([rows, cols] logical, read from `src` with the given strides) into a
//   region [width × height texels at (x0, y0)] of a texture of rgba32float texels, texel
//   (x0 + x, y0 + y) = op(X)[y, 4x .. 4x+3]; everything past rows/cols is zero, so the product needs
//   no edge checks in its inner loop. A region at x0 > 0 or y0 > 0 stages one of several products
//   summed along K (matmulSum: the operands side by side along K in one texture).
//   (The launcher copies an operand straight in instead when its rows are already texel rows;
//   texels past M rows of A or N columns of B then hold stale values, which only ever reach
//   rows/columns of out that are not written. K is never padded on that path.)
//   Bindings: 0 params {rows, cols, row_stride, col_stride, batch_stride, x0, y0, width, height},
//   1 src (read), 2 dst (texture_storage_2d_array<rgba32float, write>). Workgroup (8, 8); grid
//   (ceil(width/8), ceil(height/8), layers).
// matmul_pack_pair — two such regions of one layer in one dispatch (matmulSum's terms: each dispatch
//   costs a CPU adapter tens of µs whatever it does): grid layer z packs region z, z = 0 from `src`,
//   z = 1 from `src_second`. Bindings: 0 params {first, second} (each matmul_pack's, 16-byte
//   aligned), 1 src, 2 dst, 3 src_second. Grid (ceil(max width/8), ceil(max height/8), 2).
// matmul_texture — A packed as [M↑16][K/4↑] texels, B as [K↑4][N/4↑16] texels (↑ = rounded up);
//   each thread owns a 16×8 block of out, so a workgroup (8, 1), one SIMD batch of a CPU adapter,
//   covers a 16×64 tile: at M = 136 (a ViT-Ti batch of 8 × 17 tokens) 64-row tiles computed 192 rows.
//   Bindings: 0 params {M, N, K4 (texels along K), a_layer_step, b_layer_step} (step 0 broadcasts
//   one matrix over the batch), 1 a, 2 b (texture_2d_array<f32>), 3 out (write).
//   Grid: (ceil(N/64), ceil(M/16), batch).

struct PackParams {
  rows: u32, cols: u32, row_stride: u32, col_stride: u32, batch_stride: u32, x0: u32, y0: u32, width: u32, height: u32,
}
@group(0) @binding(0) var<uniform> pack: PackParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var dst: texture_storage_2d_array<rgba32float, write>;

// Where op(X)[row, col .. col+3] lie in the source (clamped inside it) and which of them do.
struct TexelSource { index: vec4<u32>, inside: vec4<bool> }

fn texel_source(r: PackParams, base: u32, row: u32, col: u32) -> TexelSource {
  let cols = vec4<u32>(col) + vec4<u32>(0u, 1u, 2u, 3u);
  let index = vec4<u32>(base + min(row, r.rows - 1u) * r.row_stride) + min(cols, vec4<u32>(r.cols - 1u)) * r.col_stride;
  return TexelSource(index, (vec4<u32>(row) < vec4<u32>(r.rows)) & (cols < vec4<u32>(r.cols)));
}

@compute @workgroup_size(8, 8)
fn matmul_pack(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= pack.width || gid.y >= pack.height) { return; }
  let at = texel_source(pack, gid.z * pack.batch_stride, gid.y, gid.x * 4u);
  let texel = vec4<f32>(src[at.index.x], src[at.index.y], src[at.index.z], src[at.index.w]);
  textureStore(dst, vec2<u32>(pack.x0 + gid.x, pack.y0 + gid.y), gid.z, select(vec4<f32>(0.0), texel, at.inside));
}

struct PackPair { first: PackParams, @align(16) second: PackParams }
@group(0) @binding(0) var<uniform> pair: PackPair;
@group(0) @binding(3) var<storage, read> src_second: array<f32>;

@compute @workgroup_size(8, 8)
fn matmul_pack_pair(@builtin(global_invocation_id) gid: vec3<u32>) {
  let second = gid.z == 1u;
  var r = pair.first;
  if (second) { r = pair.second; }
  if (gid.x >= r.width || gid.y >= r.height) { return; }
  let at = texel_source(r, 0u, gid.y, gid.x * 4u);
  var texel: vec4<f32>;
  if (second) {
    texel = vec4<f32>(src_second[at.index.x], src_second[at.index.y], src_second[at.index.z], src_second[at.index.w]);
  } else {
    texel = vec4<f32>(src[at.index.x], src[at.index.y], src[at.index.z], src[at.index.w]);
  }
  textureStore(dst, vec2<u32>(r.x0 + gid.x, r.y0 + gid.y), 0u, select(vec4<f32>(0.0), texel, at.inside));
}

struct Params { M: u32, N: u32, K4: u32, a_layer_step: u32, b_layer_step: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var a: texture_2d_array<f32>;
@group(0) @binding(2) var b: texture_2d_array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn store_vec4(row: u32, col: u32, base: u32, v: vec4<f32>) {
  if (row >= params.M) { return; }
  let i = base + row * params.N + col;
  if (col < params.N) { out[i] = v.x; }
  if (col + 1u < params.N) { out[i + 1u] = v.y; }
  if (col + 2u < params.N) { out[i + 2u] = v.z; }
  if (col + 3u < params.N) { out[i + 3u] = v.w; }
}

// Writes a 4×4 block whose column r is row `row + r` of out.
fn store_block(row: u32, col: u32, base: u32, block: mat4x4<f32>) {
  store_vec4(row, col, base, block[0]);
  store_vec4(row + 1u, col, base, block[1]);
  store_vec4(row + 2u, col, base, block[2]);
  store_vec4(row + 3u, col, base, block[3]);
}

// Four A texels (rows row .. row+3, k = 4·k4 .. 4·k4+3) as the columns of a matrix.
fn a_rows(k4: u32, row: u32, layer: u32) -> mat4x4<f32> {
  return mat4x4<f32>(textureLoad(a, vec2<u32>(k4, row), layer, 0), textureLoad(a, vec2<u32>(k4, row + 1u), layer, 0),
                     textureLoad(a, vec2<u32>(k4, row + 2u), layer, 0), textureLoad(a, vec2<u32>(k4, row + 3u), layer, 0));
}

// Four B texels (k = 4·k4 .. 4·k4+3, columns 4·col4 .. 4·col4+3) as the columns of a matrix.
fn b_rows(k4: u32, col4: u32, layer: u32) -> mat4x4<f32> {
  let k = k4 * 4u;
  return mat4x4<f32>(textureLoad(b, vec2<u32>(col4, k), layer, 0), textureLoad(b, vec2<u32>(col4, k + 1u), layer, 0),
                     textureLoad(b, vec2<u32>(col4, k + 2u), layer, 0), textureLoad(b, vec2<u32>(col4, k + 3u), layer, 0));
}

// c + Bm·X: column r gains Σ_q X[r][q]·Bm[q], the contribution of out row r at these four k.
fn mul_add(c: mat4x4<f32>, bm: mat4x4<f32>, x: mat4x4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(row_add(c[0], bm, x[0]), row_add(c[1], bm, x[1]), row_add(c[2], bm, x[2]), row_add(c[3], bm, x[3]));
}

fn row_add(c: vec4<f32>, bm: mat4x4<f32>, x: vec4<f32>) -> vec4<f32> {
  return fma(vec4(x.x), bm[0], fma(vec4(x.y), bm[1], fma(vec4(x.z), bm[2], fma(vec4(x.w), bm[3], c))));
}

// Accumulators c<i><j> hold rows 4i .. 4i+3 × texel column j of the thread's 16×8 block, one out
// row per matrix column: with Bm's columns the B rows and x an A texel, Bm·x = Σ_k x[k]·B[k, :].
// Written out (no arrays) so the compiler keeps every accumulator in registers.
@compute @workgroup_size(8, 1)
fn matmul_texture(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wid.y * 16u;
  let col4 = wid.x * 16u + lid.x * 2u;
  let a_layer = wid.z * params.a_layer_step;
  let b_layer = wid.z * params.b_layer_step;
  var c00 = mat4x4<f32>(); var c01 = mat4x4<f32>();
  var c10 = mat4x4<f32>(); var c11 = mat4x4<f32>();
  var c20 = mat4x4<f32>(); var c21 = mat4x4<f32>();
  var c30 = mat4x4<f32>(); var c31 = mat4x4<f32>();
  for (var k4 = 0u; k4 < params.K4; k4++) {
    let b0 = b_rows(k4, col4, b_layer);
    let b1 = b_rows(k4, col4 + 1u, b_layer);
    let a0 = a_rows(k4, row0, a_layer);
    c00 = mul_add(c00, b0, a0); c01 = mul_add(c01, b1, a0);
    let a1 = a_rows(k4, row0 + 4u, a_layer);
    c10 = mul_add(c10, b0, a1); c11 = mul_add(c11, b1, a1);
    let a2 = a_rows(k4, row0 + 8u, a_layer);
    c20 = mul_add(c20, b0, a2); c21 = mul_add(c21, b1, a2);
    let a3 = a_rows(k4, row0 + 12u, a_layer);
    c30 = mul_add(c30, b0, a3); c31 = mul_add(c31, b1, a3);
  }
  let base = wid.z * params.M * params.N;
  let col = col4 * 4u;
  store_block(row0, col, base, c00); store_block(row0, col + 4u, base, c01);
  store_block(row0 + 4u, col, base, c10); store_block(row0 + 4u, col + 4u, base, c11);
  store_block(row0 + 8u, col, base, c20); store_block(row0 + 8u, col + 4u, base, c21);
  store_block(row0 + 12u, col, base, c30); store_block(row0 + 12u, col + 4u, base, c31);
}
