// Separable blurs: a 1-D correlation along the middle axis of an [outer, L, inner] view, with a
// stride and zero padding, and its adjoint. Two passes (along W, then along H) make the 2-D
// blur-pyramid step (5×5 binomial, stride 2, TF SAME) and the 10×10 Gaussian of the data pipeline.
//   correlate:         out[o, j, i] = Σ_t taps[t] · x[o, j·stride + t − pad_before, i]   (0 outside x)
//   correlate_adjoint: out[o, l, i] = Σ_{j, t : j·stride + t − pad_before = l} taps[t] · x[o, j, i]
// Bindings: 0 params {outer, in_len, out_len, inner, stride, pad_before, tap_count, taps[16]},
//           1 x: array<f32> (read), 2 out: array<f32> (write).
// Workgroup: 256 threads, one per output element, 2-D grid (flattened). No overrides.
#include "lib/flat_index.wgsl"
struct Params {
  outer: u32,
  in_len: u32,
  out_len: u32,
  inner: u32,
  stride: u32,
  pad_before: u32,
  tap_count: u32,
  _pad: u32,
  // four to a vec4 (a uniform array's elements are 16-byte aligned)
  taps: array<vec4<f32>, 4>,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn correlate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let e = flat_index(wid, nwg, lid);
  if (e >= params.outer * params.out_len * params.inner) { return; }
  let i = e % params.inner;
  let j = (e / params.inner) % params.out_len;
  let o = e / (params.inner * params.out_len);
  let base = o * params.in_len * params.inner + i;
  // i32 so that positions before the start are negative rather than wrapping.
  let first = i32(j * params.stride) - i32(params.pad_before);
  var acc = 0.0;
  for (var t = 0u; t < params.tap_count; t++) {
    let l = first + i32(t);
    if (l >= 0 && u32(l) < params.in_len) {
      acc = fma(params.taps[t / 4][t % 4], x[base + u32(l) * params.inner], acc);
    }
  }
  out[e] = acc;
}

@compute @workgroup_size(256)
fn correlate_adjoint(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  // Here x is the cotangent [outer, out_len, inner] and out is [outer, in_len, inner].
  let e = flat_index(wid, nwg, lid);
  if (e >= params.outer * params.in_len * params.inner) { return; }
  let i = e % params.inner;
  let l = (e / params.inner) % params.in_len;
  let o = e / (params.inner * params.in_len);
  let base = o * params.out_len * params.inner + i;
  var acc = 0.0;
  for (var t = 0u; t < params.tap_count; t++) {
    let shifted = i32(l + params.pad_before) - i32(t);
    if (shifted >= 0 && u32(shifted) % params.stride == 0u) {
      let j = u32(shifted) / params.stride;
      if (j < params.out_len) {
        acc = fma(params.taps[t / 4][t % 4], x[base + j * params.inner], acc);
      }
    }
  }
  out[e] = acc;
}
