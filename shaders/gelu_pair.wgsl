// The x-part of geluGrad's gradient, h·g·gelu″(x) (geluSecondGradProduct), of same-shape operands
// in one pass instead of a product and a geluSecondGrad; gelu_second_grad_product_pair also writes
// h·gelu′(x), the g-part the same rule asks for next (src/ops/kernels/gelu.ts keeps it for that
// call). Every value follows binary.wgsl's scalar rules in the same order, so both match the separate
// kernels bit for bit.
// Bindings: 0 params {size in vec4s}, 1 h, 2 g, 3 x (read), 4 out (write), 5 slope (write, pair
// only); all array<vec4<f32>>. Workgroup: 256 threads, 2-D grid (flattened); four values per thread.
#include "lib/flat_index.wgsl"
#include "lib/erf.wgsl"

struct Count { size: u32 }
@group(0) @binding(0) var<uniform> count: Count;
@group(0) @binding(1) var<storage, read> h: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> slope: array<vec4<f32>>;

fn curvature4(v: vec4<f32>) -> vec4<f32> {
  return vec4(gelu_curvature_f32(v.x), gelu_curvature_f32(v.y), gelu_curvature_f32(v.z), gelu_curvature_f32(v.w));
}

fn slope4(v: vec4<f32>) -> vec4<f32> {
  return vec4(gelu_slope_f32(v.x), gelu_slope_f32(v.y), gelu_slope_f32(v.z), gelu_slope_f32(v.w));
}

@compute @workgroup_size(256)
fn gelu_second_grad_product(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= count.size) { return; }
  out[i] = (h[i] * g[i]) * curvature4(x[i]);
}

@compute @workgroup_size(256)
fn gelu_second_grad_product_pair(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                 @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= count.size) { return; }
  let hi = h[i];
  let xi = x[i];
  out[i] = (hi * g[i]) * curvature4(xi);
  slope[i] = hi * slope4(xi);
}
