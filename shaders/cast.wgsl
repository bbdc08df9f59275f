// Converts between float32 and int32 (float -> int truncates toward zero, like a C cast).
// Bindings: 0 params {size}, 1 x: array<u32> (read), 2 y: array<u32> (write).
// Workgroup: 256 threads, 2-D grid (flattened). Entry points: f32_to_i32, i32_to_f32.
#include "lib/flat_index.wgsl"
struct Params { size: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

@compute @workgroup_size(256)
fn f32_to_i32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < params.size) { y[i] = bitcast<u32>(i32(bitcast<f32>(x[i]))); }
}

@compute @workgroup_size(256)
fn i32_to_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < params.size) { y[i] = bitcast<u32>(f32(bitcast<i32>(x[i]))); }
}
