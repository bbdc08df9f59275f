// where(cond, a, b) with numpy broadcasting: a where cond != 0, else b.
// Bindings: 0 params, 1 cond, 2 a, 3 b (all array<f32>, read), 4 out (write).
// Workgroup: 256 threads, 2-D grid (flattened). No overrides.
// cond, a and b are read at the offsets of lib/strided.wgsl (lanes 0, 1 and 2).
#include "lib/flat_index.wgsl"
#include "lib/strided.wgsl"
@group(0) @binding(0) var<uniform> params: Strided;
@group(0) @binding(1) var<storage, read> cond: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  let at = strided_offsets(i);
  out[i] = select(b[at.z], a[at.y], cond[at.x] != 0.0);
}
