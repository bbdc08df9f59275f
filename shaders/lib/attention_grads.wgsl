// What the fused backward (attention_backward.wgsl) and double backward (attention_double_backward.wgsl)
// share: dO staged as texture 4, the packed forward output (o, then lse) at 5, the flat result array at
// 7, and their reads and writes. Results are laid out in `grads` like q, k, v (dq, dk, dv, …) or o.
@group(0) @binding(4) var grad_out: texture_2d_array<f32>;
@group(0) @binding(5) var<storage, read> packed: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> grads: array<f32>;

// lse of rows t of batch b; lse = +big where `valid` is false makes their P zero.
fn lse_at(b: u32, t: vec4<u32>, valid: vec4<bool>) -> vec4<f32> {
  let at = params.batch * params.T * HEAD_DIM + b * params.T + t;
  let values = vec4<f32>(packed[at.x / 4u][at.x % 4u], packed[at.y / 4u][at.y % 4u], packed[at.z / 4u][at.z % 4u], packed[at.w / 4u][at.w % 4u]);
  return select(vec4<f32>(-NEG_BIG), values, valid);
}

// Results are written at `origin` (where their batch's row 0 lies in `grads`) plus row·`row_stride`.
fn write_grad(origin: u32, row_stride: u32, row: u32, chunk: u32, g: vec4<f32>) {
  if (row >= params.T) { return; }
  let at = origin + row * row_stride + chunk;
  grads[at] = g.x;
  grads[at + 1u] = g.y;
  grads[at + 2u] = g.z;
  grads[at + 3u] = g.w;
}

fn write_grads4(origin: u32, row_stride: u32, first: u32, chunk: u32, g: Rows4) {
  write_grad(origin, row_stride, first, chunk, g.a);
  write_grad(origin, row_stride, first + 1u, chunk, g.b);
  write_grad(origin, row_stride, first + 2u, chunk, g.c);
  write_grad(origin, row_stride, first + 3u, chunk, g.d);
}

// Accumulators of rows first … first+3 and chunks `chunks` (see add_outer_chunks).
fn write_grads_chunks(origin: u32, row_stride: u32, first: u32, cg: u32, g: Rows16) {
  let chunks = lane_chunks(cg);
  let inside = chunks_inside(cg);
  if (inside.x) { write_grads4(origin, row_stride, first, 4u * chunks.x, g.a); }
  if (inside.y) { write_grads4(origin, row_stride, first, 4u * chunks.y, g.b); }
  if (inside.z) { write_grads4(origin, row_stride, first, 4u * chunks.z, g.c); }
  if (inside.w) { write_grads4(origin, row_stride, first, 4u * chunks.w, g.d); }
}

// The gradient of q (part 0), k (1) or v (2) of batch b, laid out like q, k, v.
fn write_qkv_grad(part: u32, b: u32, first: u32, cg: u32, g: Rows16) {
  write_grads_chunks(part * params.qkv.part + layout_at(params.qkv, b, 0u), params.qkv.row, first, cg, g);
}
