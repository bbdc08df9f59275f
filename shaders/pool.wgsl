// Max-pool window argmax: for every output (plane, oh, ow) of an NCHW tensor seen as [planes, H, W],
// the flattened index ih·W + iw of the window's maximum. Padding taps count as −∞ (never chosen);
// the first maximum wins ties and NaN wins over numbers, as in PyTorch. The pooled values are then a
// gather of x along the flattened spatial axis, so the backward pass is a scatter-add (whose own
// gradient is again a gather) and max pooling differentiates to any order.
// Bindings: 0 params, 1 x: array<f32> (read), 2 out: array<i32> (write).
// Workgroup: 256 threads, one per output, 2-D grid (flattened). No overrides.
#include "lib/flat_index.wgsl"
#include "lib/window.wgsl"
struct Params {
  size: u32,
  height: u32, width: u32,
  out_height: u32, out_width: u32,
  _pad0: u32, _pad1: u32, _pad2: u32,  // a struct member of a uniform block starts 16-byte aligned
  window: Window,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

@compute @workgroup_size(256)
fn max_argmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= p.size) { return; }
  let plane_out = p.out_height * p.out_width;
  let plane = i / plane_out;
  let pix = i % plane_out;
  let ih0 = i32((pix / p.out_width) * p.window.stride_h) - i32(p.window.pad_top);
  let iw0 = i32((pix % p.out_width) * p.window.stride_w) - i32(p.window.pad_left);
  let base = plane * p.height * p.width;
  var best = 0.0;
  var best_index = -1;
  for (var kh = 0u; kh < p.window.kernel_h; kh++) {
    let ih = ih0 + i32(kh * p.window.dilation_h);
    if (ih < 0 || ih >= i32(p.height)) { continue; }
    for (var kw = 0u; kw < p.window.kernel_w; kw++) {
      let iw = iw0 + i32(kw * p.window.dilation_w);
      if (iw < 0 || iw >= i32(p.width)) { continue; }
      let index = ih * i32(p.width) + iw;
      let v = x[base + u32(index)];
      let wins = best_index < 0 || v > best || (v != v && best == best);
      if (wins) {
        best = v;
        best_index = index;
      }
    }
  }
  out[i] = best_index;
}
