// Binary elementwise ops with numpy broadcasting; comparisons write 1.0 or 0.0, reluGrad writes
// a where b > 0, else 0, geluGrad writes a·gelu′(b), geluSecondGrad a·gelu″(b).
// Bindings: 0 params, 1 a: array<f32>, 2 b: array<f32>, 3 out: array<f32> (write).
// Workgroup: 256 threads, 2-D grid (flattened). Overrides: OP (order of BINARY_OPS in
// src/primitive.ts); BROADCAST=false when a, b and out share one shape (no index math);
// RELU=true writes max(result, 0) (addRelu: a residual sum and its ReLU in one pass).
// Broadcasting reads a and b at the offsets of lib/strided.wgsl (lanes 0 and 1).
// Entry main_vec4 (the launcher's choice when the output's size is a multiple of 4 and each operand
// is the output's shape or one value): four values per thread, read and written as vec4 (16 bytes
// per lane on CPU adapters), each computed by the same scalar rule as main, so results match bit
// for bit. Its params is {size} in vec4s; override ONE_VALUE: 0 none, 1 a, 2 b is one value, read
// as the first lane of its first vec4 (pool buffers hold at least 256 bytes).
#include "lib/flat_index.wgsl"
#include "lib/strided.wgsl"
#include "lib/erf.wgsl"
override OP: u32 = 0u;
override BROADCAST: bool = true;
override RELU: bool = false;
override ONE_VALUE: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Strided;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// The same bindings seen as vec4s, for main_vec4.
struct Count { size: u32 }
@group(0) @binding(0) var<uniform> count: Count;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;

// pow with the real-valued cases WGSL leaves undefined: x < 0 with integer y, and 0^0 = 1.
fn pow_f32(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  let infinity_bits = 0x7f800000u;  // a `let`, so Tint does not reject an infinite constant
  if (x == 0.0) { return select(0.0, bitcast<f32>(infinity_bits), y < 0.0); }
  if (x < 0.0) {
    let nan_bits = 0x7fc00000u;
    if (floor(y) != y) { return bitcast<f32>(nan_bits); }
    let magnitude = exp2(y * log2(-x));
    return select(magnitude, -magnitude, fract(y * 0.5) != 0.0);
  }
  return exp2(y * log2(x));
}

fn result(x: f32, y: f32) -> f32 {
  let value = apply_op(x, y);
  return select(value, max(value, 0.0), RELU);
}

fn result4(x: vec4<f32>, y: vec4<f32>) -> vec4<f32> {
  return vec4(result(x.x, y.x), result(x.y, y.y), result(x.z, y.z), result(x.w, y.w));
}

fn apply_op(x: f32, y: f32) -> f32 {
  switch OP {
    case 0u: { return x + y; }
    case 1u: { return x - y; }
    case 2u: { return x * y; }
    case 3u: { return x / y; }
    case 4u: { return pow_f32(x, y); }
    case 5u: { return max(x, y); }
    case 6u: { return min(x, y); }
    case 7u: { return select(0.0, 1.0, x < y); }
    case 8u: { return select(0.0, 1.0, x <= y); }
    case 9u: { return select(0.0, 1.0, x > y); }
    case 10u: { return select(0.0, 1.0, x >= y); }
    case 11u: { return select(0.0, 1.0, x == y); }
    case 12u: { return select(0.0, 1.0, x != y); }
    case 13u: { return select(0.0, x, y > 0.0); }
    case 14u: { return x * gelu_slope_f32(y); }
    case 15u: { return x * gelu_curvature_f32(y); }
    default: { return x; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  if (!BROADCAST) {
    out[i] = result(a[i], b[i]);
    return;
  }
  let at = strided_offsets(i);
  out[i] = result(a[at.x], b[at.y]);
}

@compute @workgroup_size(256)
fn main_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= count.size) { return; }
  var x: vec4<f32>;
  var y: vec4<f32>;
  if (ONE_VALUE == 1u) { x = vec4(a4[0].x); } else { x = a4[i]; }
  if (ONE_VALUE == 2u) { y = vec4(b4[0].x); } else { y = b4[i]; }
  out4[i] = result4(x, y);
}
