// Counter-based random numbers: Philox-2x32-10 keyed by a 64-bit seed, counter = element index,
// so a (seed, shape) pair gives the same tensor on every device and run.
// Bindings: 0 params {size, key0, key1, a, b}, 1 out: array<f32> (write).
// Workgroup: 256 threads, 2-D grid (flattened). Entry points:
//   uniform_f32: a + (b − a)·u, u ∈ [0, 1) with 24 random bits;
//   normal_f32:  a + b·z, z standard normal by Box–Muller on the two Philox words.
#include "lib/flat_index.wgsl"
struct Params { size: u32, key0: u32, key1: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  // 32×32 → 64-bit product from 16-bit halves (WGSL has no 64-bit integers).
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let lo_lo = a_lo * b_lo;
  let hi_lo = a_hi * b_lo;
  let lo_hi = a_lo * b_hi;
  let hi_hi = a_hi * b_hi;
  let mid = (lo_lo >> 16u) + (hi_lo & 0xffffu) + (lo_hi & 0xffffu);
  let hi = hi_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, a * b);
}

fn philox(counter: vec2<u32>, key: u32) -> vec2<u32> {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let p = mulhilo(0xD256D193u, c.x);
    c = vec2<u32>(p.x ^ k ^ c.y, p.y);
    k += 0x9E3779B9u;
  }
  return c;
}

fn draw(i: u32) -> vec2<u32> {
  return philox(vec2<u32>(i, params.key1), params.key0);
}

fn unit(bits: u32) -> f32 {
  return f32(bits >> 8u) * (1.0 / 16777216.0);
}

@compute @workgroup_size(256)
fn uniform_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  out[i] = params.a + (params.b - params.a) * unit(draw(i).x);
}

@compute @workgroup_size(256)
fn normal_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= params.size) { return; }
  let bits = draw(i);
  let u1 = 1.0 - unit(bits.x);  // (0, 1]: log stays finite
  let u2 = unit(bits.y);
  out[i] = params.a + params.b * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
