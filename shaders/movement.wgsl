// Data movement on 32-bit words (float or int bits alike), out index -> source offset.
// Bindings: 0 params (Strided of lib/strided.wgsl), 1 x: array<u32> (read), 2 out: array<u32> (write).
// Workgroup: 256 threads, 2-D grid (flattened). Overrides: RANK, FLOAT_DIVISION (lib/strided.wgsl).
// Entry points:
//   strided_copy:  out (contiguous, out_shape) <- x[offset + Σ coord_d · strides_d]; permute, slice
//                  and broadcast are all this with different strides (0 on broadcast axes).
//   pad:           out <- x where coord_d - before_d lies inside x's shape, else the fill value's
//                  bits (in `offset`); lanes per axis: x's stride, before_d, x's extent (the
//                  launcher merges unpadded axes into the axis outside them).
//   strided_write: out[offset + Σ coord_d · strides_d] <- x (contiguous, shape); concat's placement.
//   broadcast_one: out <- x[offset] everywhere: an expand of one value (every stride 0), read at
//                  one address instead of per-element coordinates.
#include "lib/flat_index.wgsl"
#include "lib/strided.wgsl"
@group(0) @binding(0) var<uniform> params: Strided;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

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
  if (i >= params.size) { return; }
  var rest = i;
  var source = 0u;
  var inside = true;
  for (var d = i32(RANK) - 1; d >= 0; d--) {
    var coord = rest;
    if (d > 0) {
      let split = div_mod(rest, params.shape[d / 4][d % 4], params.inverse_shape[d / 4][d % 4]);
      coord = split.y;
      rest = split.x;
    }
    // Lanes: x's stride, the padding before, x's extent. Unsigned wrap-around makes coordinates
    // before the start fail the bound test too.
    let axis = params.strides[d];
    let inner = coord - axis.y;
    inside = inside && inner < axis.z;
    source += inner * axis.x;
  }
  out[i] = select(params.offset, x[select(0u, source, inside)], inside);
}
