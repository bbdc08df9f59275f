// Data movement on 32-bit words (float or int bits alike), out index -> source offset.
// Bindings: 0 params, 1 x: array<u32> (read), 2 out: array<u32> (write).
// Workgroup: 256 threads, 2-D grid (flattened). No overrides. Entry points:
//   strided_copy:  out (contiguous, out_shape) <- x[offset + Σ coord_d · strides_d]; permute, slice
//                  and broadcast are all this with different strides (0 on broadcast axes).
//   pad:           out <- x where coord_d - before_d lies inside x's shape, else `value` bits.
//   strided_write: out[offset + Σ coord_d · strides_d] <- x (contiguous, shape); concat's placement.
struct Params {
  size: u32,
  rank: u32,
  offset: u32,
  value: u32,
  shape: array<u32, 8>,
  strides: array<u32, 8>,
  before: array<u32, 8>,
  inner_shape: array<u32, 8>,
}
@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * 256u + lid;
}

fn strided_offset(i: u32) -> u32 {
  var rest = i;
  var offset = params.offset;
  for (var d = i32(params.rank) - 1; d > 0; d--) {
    let extent = params.shape[d];
    offset += (rest % extent) * params.strides[d];
    rest = rest / extent;
  }
  // What is left is the outermost coordinate (i < size): no division for it.
  if (params.rank > 0u) {
    offset += rest * params.strides[0];
  }
  return offset;
}

@compute @workgroup_size(256)
fn strided_copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  out[i] = x[strided_offset(i)];
}

@compute @workgroup_size(256)
fn strided_write(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  out[strided_offset(i)] = x[i];
}

@compute @workgroup_size(256)
fn pad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  var rest = i;
  var source = 0u;
  var inside = true;
  for (var d = i32(params.rank) - 1; d >= 0; d--) {
    let extent = params.shape[d];
    let coord = rest % extent;
    rest = rest / extent;
    // Unsigned wrap-around makes coordinates before the start fail the bound test too.
    let inner = coord - params.before[d];
    inside = inside && inner < params.inner_shape[d];
    source += inner * params.strides[d];
  }
  out[i] = select(params.value, x[select(0u, source, inside)], inside);
}
