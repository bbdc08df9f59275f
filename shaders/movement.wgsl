// Data movement on 32-bit words (float or int bits alike), out index -> source offset.
// Bindings: 0 params (Strided of lib/strided.wgsl, lane 0; pad: PadParams), 1 x: array<u32> (read),
// 2 out: array<u32> (write).
// Workgroup: 256 threads, 2-D grid (flattened). No overrides. Entry points:
//   strided_copy:  out (contiguous, out_shape) <- x[offset + Σ coord_d · strides_d]; permute, slice
//                  and broadcast are all this with different strides (0 on broadcast axes).
//   pad:           out <- x where coord_d - before_d lies inside x's shape, else `value` bits.
//   strided_write: out[offset + Σ coord_d · strides_d] <- x (contiguous, shape); concat's placement.
//   broadcast_one: out <- x[offset] everywhere: an expand of one value (every stride 0), read at
//                  one address instead of per-element coordinates.
#include "lib/flat_index.wgsl"
#include "lib/strided.wgsl"
@group(0) @binding(0) var<storage, read> params: Strided;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

// pad's parameters: out has `shape`; x has `inner_shape` and `strides`, placed `before` each axis' start.
struct PadParams {
  size: u32,
  rank: u32,
  value: u32,
  shape: array<u32, 8>,
  strides: array<u32, 8>,
  before: array<u32, 8>,
  inner_shape: array<u32, 8>,
}
@group(0) @binding(0) var<storage, read> pad_params: PadParams;

@compute @workgroup_size(256)
fn strided_copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  out[i] = x[strided_offsets(i).x];
}

@compute @workgroup_size(256)
fn broadcast_one(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  out[i] = x[params.offset];
}

@compute @workgroup_size(256)
fn strided_write(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  out[strided_offsets(i).x] = x[i];
}

@compute @workgroup_size(256)
fn pad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= pad_params.size) { return; }
  var rest = i;
  var source = 0u;
  var inside = true;
  for (var d = i32(pad_params.rank) - 1; d >= 0; d--) {
    let extent = pad_params.shape[d];
    let coord = rest % extent;
    rest = rest / extent;
    // Unsigned wrap-around makes coordinates before the start fail the bound test too.
    let inner = coord - pad_params.before[d];
    inside = inside && inner < pad_params.inner_shape[d];
    source += inner * pad_params.strides[d];
  }
  out[i] = select(pad_params.value, x[select(0u, source, inside)], inside);
}
