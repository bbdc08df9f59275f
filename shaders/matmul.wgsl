// Batched matrix product out[b] = op(A[b]) · op(B[b]), op = optional transpose.
// A is [batch, M, K] (or [batch, K, M] with TRANS_A), B is [batch, K, N] (or [batch, N, K] with
// TRANS_B), out is [batch, M, N]; a batch stride of 0 broadcasts one matrix over the batch.
// Bindings: 0 params {M, N, K, a_batch_stride, b_batch_stride}, 1 a, 2 b (read), 3 out (write).
// Workgroup (16, 16); each thread owns a 4×4 block, so a workgroup covers a 64×64 tile of out.
// Grid: (ceil(N/64), ceil(M/64), batch). Overrides: TRANS_A, TRANS_B.
// Entry points (selectable per adapter, see Backend.matmulVariant):
//   matmul_registers: operands read straight from storage into registers (fastest on CPU adapters);
//   matmul_shared:    16-deep K slabs of both tiles staged through workgroup memory (GPUs).
// Rows/cols past the edge are clamped for loading and masked on writing, so no branch sits in
// the inner loop.
override TRANS_A: bool = false;
override TRANS_B: bool = false;

struct Params { M: u32, N: u32, K: u32, a_batch_stride: u32, b_batch_stride: u32 }
@group(0) @binding(0) var<storage, read> params: Params;
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

@compute @workgroup_size(16, 16)
fn matmul_registers(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let a_base = wid.z * params.a_batch_stride;
  let b_base = wid.z * params.b_batch_stride;
  let row0 = wid.y * 64u + lid.y * 4u;
  let col0 = wid.x * 64u + lid.x * 4u;
  let r0 = min(row0, M - 1u);
  let r1 = min(row0 + 1u, M - 1u);
  let r2 = min(row0 + 2u, M - 1u);
  let r3 = min(row0 + 3u, M - 1u);
  let c0 = min(col0, N - 1u);
  let c1 = min(col0 + 1u, N - 1u);
  let c2 = min(col0 + 2u, N - 1u);
  let c3 = min(col0 + 3u, N - 1u);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < params.K; k++) {
    let bv = vec4<f32>(b_at(b_base, k, c0), b_at(b_base, k, c1), b_at(b_base, k, c2), b_at(b_base, k, c3));
    acc0 = fma(vec4<f32>(a_at(a_base, r0, k)), bv, acc0);
    acc1 = fma(vec4<f32>(a_at(a_base, r1, k)), bv, acc1);
    acc2 = fma(vec4<f32>(a_at(a_base, r2, k)), bv, acc2);
    acc3 = fma(vec4<f32>(a_at(a_base, r3, k)), bv, acc3);
  }
  let out_base = wid.z * M * N;
  store_row(out_base, row0, col0, acc0);
  store_row(out_base, row0 + 1u, col0, acc1);
  store_row(out_base, row0 + 2u, col0, acc2);
  store_row(out_base, row0 + 3u, col0, acc3);
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
