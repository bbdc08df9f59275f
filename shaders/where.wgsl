// where(cond, a, b) with numpy broadcasting: a where cond != 0, else b.
// Bindings: 0 params, 1 cond, 2 a, 3 b (all array<f32>, read), 4 out (write).
// Workgroup: 256 threads, 2-D grid (flattened). No overrides.
struct Params {
  size: u32,
  rank: u32,
  out_shape: array<u32, 8>,
  c_strides: array<u32, 8>,
  a_strides: array<u32, 8>,
  b_strides: array<u32, 8>,
}
@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var<storage, read> cond: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= params.size) { return; }
  var rest = i;
  var ic = 0u;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(params.rank) - 1; d > 0; d--) {
    let extent = params.out_shape[d];
    let coord = rest % extent;
    rest = rest / extent;
    ic += coord * params.c_strides[d];
    ia += coord * params.a_strides[d];
    ib += coord * params.b_strides[d];
  }
  // What is left is the outermost coordinate (i < size): no division for it.
  if (params.rank > 0u) {
    ic += rest * params.c_strides[0];
    ia += rest * params.a_strides[0];
    ib += rest * params.b_strides[0];
  }
  out[i] = select(b[ib], a[ia], cond[ic] != 0.0);
}
