// Fills a buffer with one 32-bit pattern (float or int bits), or with 0, 1, 2, ... (iota).
// Bindings: 0 params {size, bits}, 1 out: array<u32> (write).
// Workgroup: 256 threads, 2-D grid (flattened). Entry points: fill, iota_f32, iota_i32.
#include "lib/flat_index.wgsl"
struct Params { size: u32, bits: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < params.size) { out[i] = params.bits; }
}

@compute @workgroup_size(256)
fn iota_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < params.size) { out[i] = bitcast<u32>(f32(i)); }
}

@compute @workgroup_size(256)
fn iota_i32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < params.size) { out[i] = i; }
}
