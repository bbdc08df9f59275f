// Unary elementwise ops over contiguous float32 tensors.
// Bindings: 0 params {size}, 1 x: array<f32> (read), 2 y: array<f32> (write).
// Workgroup: 256 threads, 2-D grid of workgroups (flattened). Override OP picks the function,
// in the order of UNARY_OPS in src/primitive.ts. Entry main_vec4 (sizes a multiple of 4): four
// values per thread as vec4s (16-byte loads and stores on CPU adapters), params.size in vec4s,
// each value by main's scalar rule.
#include "lib/flat_index.wgsl"
#include "lib/erf.wgsl"
override OP: u32 = 0u;

struct Params { size: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;

// exp(-2|v|) form cannot overflow; the series keeps relative accuracy near zero.
fn tanh_f32(v: f32) -> f32 {
  let z = abs(v);
  if (z < 0.1) {
    let z2 = v * v;
    return v * (1.0 + z2 * (-1.0 / 3.0 + z2 * (2.0 / 15.0 + z2 * (-17.0 / 315.0))));
  }
  let t = exp(-2.0 * z);
  return sign(v) * (1.0 - t) / (1.0 + t);
}

fn apply_op(v: f32) -> f32 {
  switch OP {
    case 0u: { return -v; }
    case 1u: { return exp(v); }
    case 2u: { return log(v); }
    case 3u: { return sqrt(v); }
    case 4u: { return inverseSqrt(v); }
    case 5u: { return abs(v); }
    case 6u: { return sign(v); }
    case 7u: { return tanh_f32(v); }
    case 8u: { return erf_f32(v); }
    case 9u: { return max(v, 0.0); }
    case 10u: { return gelu_f32(v); }
    default: { return v; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  y[i] = apply_op(x[i]);
}

@compute @workgroup_size(256)
fn main_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  let v = x4[i];
  y4[i] = vec4(apply_op(v.x), apply_op(v.y), apply_op(v.z), apply_op(v.w));
}
