// addN: out = ((x0 + x1) + x2) + … of 2..6 operands of one shape, summed left to right, so each value
// rounds exactly as the chain of binary adds it replaces (backward()'s cotangent accumulation).
// Bindings: 0 params {size}, 1..6 operands x0..x5, 7 out (write): 8 storage buffers, the WebGPU
// minimum per stage. Operands past COUNT are bound to x0 by the launcher and never read.
// Workgroup: 256 threads, 2-D grid (flattened). Override COUNT: how many operands are summed.
// Entry main_vec4 (the launcher's choice when the size is a multiple of 4): four values per thread,
// read and written as vec4, the same left-to-right sum per lane; params is {size} in vec4s.
#include "lib/flat_index.wgsl"
override COUNT: u32 = 2u;

struct Count { size: u32 }
@group(0) @binding(0) var<uniform> params: Count;
@group(0) @binding(1) var<storage, read> x0: array<f32>;
@group(0) @binding(2) var<storage, read> x1: array<f32>;
@group(0) @binding(3) var<storage, read> x2: array<f32>;
@group(0) @binding(4) var<storage, read> x3: array<f32>;
@group(0) @binding(5) var<storage, read> x4: array<f32>;
@group(0) @binding(6) var<storage, read> x5: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
// The same bindings seen as vec4s, for main_vec4.
@group(0) @binding(1) var<storage, read> x0_4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x1_4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> x2_4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> x3_4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> x4_4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> x5_4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> out4: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  var s = x0[i] + x1[i];
  if (COUNT > 2u) { s = s + x2[i]; }
  if (COUNT > 3u) { s = s + x3[i]; }
  if (COUNT > 4u) { s = s + x4[i]; }
  if (COUNT > 5u) { s = s + x5[i]; }
  out[i] = s;
}

@compute @workgroup_size(256)
fn main_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  var s = x0_4[i] + x1_4[i];
  if (COUNT > 2u) { s = s + x2_4[i]; }
  if (COUNT > 3u) { s = s + x3_4[i]; }
  if (COUNT > 4u) { s = s + x4_4[i]; }
  if (COUNT > 5u) { s = s + x5_4[i]; }
  out4[i] = s;
}
