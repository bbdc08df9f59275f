// gather and its adjoint scatter_add along one axis (torch.gather / Tensor.scatter_add_ semantics).
// For an index tensor of shape `shape`, element i with coordinates c addresses the data tensor at
// c with c[axis] replaced by indices[i]; `strides` are the data tensor's strides.
// Bindings: 0 params, 1 indices: array<i32>, 2 src: array<u32> (gather: data; scatter: updates),
//           3 out: array<atomic<u32>> (write; zero-filled first for scatter_add). Atomic in both
//           entry points so that one binding declaration serves both.
// Workgroup: 256 threads, 2-D grid (flattened). No overrides.
// An index outside [0, axis_size) gathers NaN and scatters nothing.
#include "lib/flat_index.wgsl"
struct Params {
  size: u32,
  rank: u32,
  axis: u32,
  axis_size: u32,
  // four to a vec4 (a uniform array's elements are 16-byte aligned)
  shape: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> indices: array<i32>;

// Offset into the data tensor with the axis coordinate left out.
fn base_offset(i: u32) -> u32 {
  var rest = i;
  var offset = 0u;
  for (var d = i32(params.rank) - 1; d >= 0; d--) {
    let extent = params.shape[d / 4][d % 4];
    if (u32(d) != params.axis) { offset += (rest % extent) * params.strides[d / 4][d % 4]; }
    rest = rest / extent;
  }
  return offset;
}

@group(0) @binding(2) var<storage, read> src: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<atomic<u32>>;

@compute @workgroup_size(256)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  let j = indices[i];
  if (j < 0 || u32(j) >= params.axis_size) {
    atomicStore(&out[i], 0x7fc00000u);
    return;
  }
  atomicStore(&out[i], src[base_offset(i) + u32(j) * params.strides[params.axis / 4u][params.axis % 4u]]);
}

@compute @workgroup_size(256)
fn scatter_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  let j = indices[i];
  if (j < 0 || u32(j) >= params.axis_size) { return; }
  let dest = base_offset(i) + u32(j) * params.strides[params.axis / 4u][params.axis % 4u];
  let update = bitcast<f32>(src[i]);
  // WGSL has no float atomics: compare-and-swap on the bit pattern until no one raced us.
  var old = atomicLoad(&out[dest]);
  loop {
    let result = atomicCompareExchangeWeak(&out[dest], old, bitcast<u32>(bitcast<f32>(old) + update));
    if (result.exchanged) { break; }
    old = result.old_value;
  }
}
