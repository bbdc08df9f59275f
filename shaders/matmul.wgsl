// Batched matrix product out[b] = op(A[b]) · op(B[b]), op = optional transpose.
// A is [batch, M, K] (or [batch, K, M] with TRANS_A), B is [batch, K, N] (or [batch, N, K] with
// TRANS_B), out is [batch, M, N]; a batch stride of 0 broadcasts one matrix over the batch.
// Bindings: 0 params {M, N, K, a_batch_stride, b_batch_stride}, 1 a, 2 b (read), 3 out (write).
// Each workgroup covers a 64×64 tile of out. Grid: (ceil(N/64), ceil(M/64), batch).
// Overrides: TRANS_A, TRANS_B.
// Entry points (selectable per adapter, see Backend.matmulVariant; matmul_texture.wgsl is the
// third, for CPU adapters):
//   matmul_registers: workgroup (8, 4), a 16×8 block per thread read straight from storage into
//                     registers; the fallback on CPU adapters when an operand exceeds the texture
//                     limits (large blocks, as each storage read costs a loop over SIMD lanes there);
//   matmul_shared:    workgroup (16, 16), a 4×4 block per thread, 16-deep K slabs of both tiles
//                     staged through workgroup memory (GPUs).
// Rows/cols past the edge are clamped for loading and masked on writing, so no branch sits in
// the inner loop.
override TRANS_A: bool = false;
override TRANS_B: bool = false;

struct Params { M: u32, N: u32, K: u32, a_batch_stride: u32, b_batch_stride: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn a_at(base: u32, m: u32, k: u32) -> f32 {
  if (TRANS_A) { return a[base + k * params.M + m]; }
  return a[base + m * params.K + k];
}

fn b_at(base: u32, k: u32, n: u32) -> f32 {
  if (TRANS_B) { return b[base + n * params.K + k]; }
  return b[base + k * params.N + n];
}

fn store_row(batch_base: u32, row: u32, col0: u32, v: vec4<f32>) {
  if (row >= params.M) { return; }
  let base = batch_base + row * params.N;
  if (col0 < params.N) { out[base + col0] = v.x; }
  if (col0 + 1u < params.N) { out[base + col0 + 1u] = v.y; }
  if (col0 + 2u < params.N) { out[base + col0 + 2u] = v.z; }
  if (col0 + 3u < params.N) { out[base + col0 + 3u] = v.w; }
}

// op(A)[row .. row+3, k], rows past M clamped (their results are never written).
fn a_col(base: u32, row: u32, k: u32) -> vec4<f32> {
  let last = params.M - 1u;
  return vec4<f32>(a_at(base, min(row, last), k), a_at(base, min(row + 1u, last), k),
                   a_at(base, min(row + 2u, last), k), a_at(base, min(row + 3u, last), k));
}

// op(B)[k, col .. col+3], columns past N clamped.
fn b_row(base: u32, k: u32, col: u32) -> vec4<f32> {
  let last = params.N - 1u;
  return vec4<f32>(b_at(base, k, min(col, last)), b_at(base, k, min(col + 1u, last)),
                   b_at(base, k, min(col + 2u, last)), b_at(base, k, min(col + 3u, last)));
}

// c + x ⊗ y for a block c whose column r is row r of out: column r gains x[r]·y.
fn add_outer(c: mat4x4<f32>, x: vec4<f32>, y: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(fma(vec4(x.x), y, c[0]), fma(vec4(x.y), y, c[1]), fma(vec4(x.z), y, c[2]), fma(vec4(x.w), y, c[3]));
}

// Writes a 4×4 block whose column r is row `row + r` of out, masked at the edges.
fn store_block(batch_base: u32, row: u32, col: u32, block: mat4x4<f32>) {
  store_row(batch_base, row, col, block[0]);
  store_row(batch_base, row + 1u, col, block[1]);
  store_row(batch_base, row + 2u, col, block[2]);
  store_row(batch_base, row + 3u, col, block[3]);
}

// Each thread owns a 16×8 block of out in eight 4×4 matrices c<i><j> (rows 4i.., columns 4j..,
// one out row per matrix column). Per k, 24 loads feed 128 multiply-adds. Written out (no
// arrays) so the compiler keeps every accumulator in registers.
@compute @workgroup_size(8, 4)
fn matmul_registers(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let a_base = wid.z * params.a_batch_stride;
  let b_base = wid.z * params.b_batch_stride;
  let row0 = wid.y * 64u + lid.y * 16u;
  let col0 = wid.x * 64u + lid.x * 8u;
  var c00 = mat4x4<f32>(); var c01 = mat4x4<f32>();
  var c10 = mat4x4<f32>(); var c11 = mat4x4<f32>();
  var c20 = mat4x4<f32>(); var c21 = mat4x4<f32>();
  var c30 = mat4x4<f32>(); var c31 = mat4x4<f32>();
  for (var k = 0u; k < params.K; k++) {
    let b0 = b_row(b_base, k, col0);
    let b1 = b_row(b_base, k, col0 + 4u);
    let a0 = a_col(a_base, row0, k);
    c00 = add_outer(c00, a0, b0); c01 = add_outer(c01, a0, b1);
    let a1 = a_col(a_base, row0 + 4u, k);
    c10 = add_outer(c10, a1, b0); c11 = add_outer(c11, a1, b1);
    let a2 = a_col(a_base, row0 + 8u, k);
    c20 = add_outer(c20, a2, b0); c21 = add_outer(c21, a2, b1);
    let a3 = a_col(a_base, row0 + 12u, k);
    c30 = add_outer(c30, a3, b0); c31 = add_outer(c31, a3, b1);
  }
  let out_base = wid.z * params.M * params.N;
  store_block(out_base, row0, col0, c00); store_block(out_base, row0, col0 + 4u, c01);
  store_block(out_base, row0 + 4u, col0, c10); store_block(out_base, row0 + 4u, col0 + 4u, c11);
  store_block(out_base, row0 + 8u, col0, c20); store_block(out_base, row0 + 8u, col0 + 4u, c21);
  store_block(out_base, row0 + 12u, col0, c30); store_block(out_base, row0 + 12u, col0 + 4u, c31);
}

var<workgroup> tile_a: array<array<f32, 64>, 16>;  // [k][m]
var<workgroup> tile_b: array<array<f32, 64>, 16>;  // [k][n]

@compute @workgroup_size(16, 16)
fn matmul_shared(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                 @builtin(local_invocation_index) flat: u32) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let a_base = wid.z * params.a_batch_stride;
  let b_base = wid.z * params.b_batch_stride;
  let tile_row = wid.y * 64u;
  let tile_col = wid.x * 64u;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    // 256 threads stage 16×64 of each operand: 4 elements each; out-of-range reads become 0.
    for (var e = 0u; e < 4u; e++) {
      let slot = flat + e * 256u;
      let kk = slot / 64u;
      let mn = slot % 64u;
      let k = k0 + kk;
      let m = tile_row + mn;
      let n = tile_col + mn;
      tile_a[kk][mn] = select(0.0, a_at(a_base, min(m, M - 1u), min(k, K - 1u)), m < M && k < K);
      tile_b[kk][mn] = select(0.0, b_at(b_base, min(k, K - 1u), min(n, N - 1u)), n < N && k < K);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let bv = vec4<f32>(tile_b[kk][lid.x * 4u], tile_b[kk][lid.x * 4u + 1u],
                         tile_b[kk][lid.x * 4u + 2u], tile_b[kk][lid.x * 4u + 3u]);
      acc0 = fma(vec4<f32>(tile_a[kk][lid.y * 4u]), bv, acc0);
      acc1 = fma(vec4<f32>(tile_a[kk][lid.y * 4u + 1u]), bv, acc1);
      acc2 = fma(vec4<f32>(tile_a[kk][lid.y * 4u + 2u]), bv, acc2);
      acc3 = fma(vec4<f32>(tile_a[kk][lid.y * 4u + 3u]), bv, acc3);
    }
    workgroupBarrier();
  }
  let out_base = wid.z * M * N;
  let row0 = tile_row + lid.y * 4u;
  let col0 = tile_col + lid.x * 4u;
  store_row(out_base, row0, col0, acc0);
  store_row(out_base, row0 + 1u, col0, acc1);
  store_row(out_base, row0 + 2u, col0, acc2);
  store_row(out_base, row0 + 3u, col0, acc3);
}
