// 2-D convolution (cross-correlation, as PyTorch) and its two linear partners, each an implicit
// GEMM per group: no im2col buffer, the GEMM operands are read straight from the NCHW/OIHW tensors.
//   forward:      y[n,o,oh,ow]  = Σ_{c,kh,kw} x[n,c,oh·sh−pt+kh·dh, ow·sw−pl+kw·dw] · w[o,c,kh,kw]
//                 GEMM rows o, cols (n,oh,ow), depth (c,kh,kw).
//   input_grad:   dx[n,c,ih,iw] = Σ_{o,kh,kw} gy[n,o,(ih+pt−kh·dh)/sh, (iw+pl−kw·dw)/sw] · w[o,c,kh,kw]
//                 (terms whose quotient is not an in-range integer vanish): the transposed convolution.
//                 GEMM rows c, cols (n,ih,iw), depth (o,kh,kw).
//   weight_grad:  dw[o,c,kh,kw] = Σ_{n,oh,ow} gy[n,o,oh,ow] · x[n,c,oh·sh−pt+kh·dh, ow·sw−pl+kw·dw]
//                 GEMM rows o, cols (c,kh,kw), depth (n,oh,ow), split into `k_splits` chunks of
//                 `k_chunk` (grid z = group·k_splits + split); each split writes its own partial slab
//                 of `out`, which the launcher sums.
// Channels c and o above are local to the group.
// Bindings: 0 params, 1 first, 2 second (read), 3 out (write):
//   forward (x, w, y) · input_grad (gy, w, dx) · weight_grad (x, gy, partial dw [k_splits, O, C/g, KH, KW]).
// Register blocking: a thread accumulates an 8×4 block, 8 GEMM rows × 4 cols. The rows depend on
// the workgroup only, so every row-operand read (the weights; gy in weight_grad) is uniform across
// the workgroup — one scalar read instead of a per-thread gather on CPU adapters — and the 4 cols
// are strided by WG so neighbouring threads read neighbouring pixels.
// Workgroup (WG): covers 8 rows × 4·WG cols; grid (ceil(cols / (4·WG)), ceil(rows / 8), groups[·k_splits]).
// Override: WG (the launcher narrows it for few cols).
// Out-of-range rows/cols are clamped for loading and masked on writing; padding taps load a
// clamped address and are zeroed by select, so the inner loop has no branches.
#include "lib/window.wgsl"
override WG: u32 = 64u;

struct Params {
  batch: u32,
  channels: u32,
  height: u32, width: u32,
  out_channels: u32,
  out_height: u32, out_width: u32,
  groups: u32,
  window: Window,
  k_chunk: u32,
  k_splits: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> first: array<f32>;
@group(0) @binding(2) var<storage, read> second: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const ROWS = 8u;

fn tile_cols(wid_x: u32, lid_x: u32) -> vec4<u32> {
  let base = wid_x * WG * 4u + lid_x;
  return vec4<u32>(base, base + WG, base + 2u * WG, base + 3u * WG);
}

// The thread's four GEMM columns as pixels `pix` of images `n` (planes of `plane` pixels, batch of
// them); `ok` masks columns past the end, which are clamped into range for loading.
struct PixelCols { ok: vec4<bool>, n: vec4<u32>, pix: vec4<u32> }

fn pixel_cols(wid_x: u32, lid_x: u32, plane: u32) -> PixelCols {
  let cols = p.batch * plane;
  let col = tile_cols(wid_x, lid_x);
  let c = min(col, vec4<u32>(cols - 1u));
  return PixelCols(col < vec4<u32>(cols), c / plane, c % plane);
}

/** The first and last four of the workgroup's 8 rows, clamped into [0, rows). */
fn rows_low(wid_y: u32, rows: u32) -> vec4<u32> {
  return min(vec4<u32>(wid_y * ROWS) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(rows - 1u));
}

fn rows_high(wid_y: u32, rows: u32) -> vec4<u32> {
  return min(vec4<u32>(wid_y * ROWS) + vec4<u32>(4u, 5u, 6u, 7u), vec4<u32>(rows - 1u));
}

fn gather_first(idx: vec4<u32>, ok: vec4<bool>) -> vec4<f32> {
  return select(vec4<f32>(0.0), vec4<f32>(first[idx.x], first[idx.y], first[idx.z], first[idx.w]), ok);
}

fn second4(idx: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(second[idx.x], second[idx.y], second[idx.z], second[idx.w]);
}

fn in_range(v: vec4<i32>, size: u32) -> vec4<bool> {
  return (v >= vec4<i32>(0)) & (v < vec4<i32>(i32(size)));
}

fn clamp_index(v: vec4<i32>, size: u32) -> vec4<u32> {
  return vec4<u32>(clamp(v, vec4<i32>(0), vec4<i32>(i32(size) - 1)));
}

// Writes one row of the block: out[row_base + col_offset[j]] for the valid cols.
fn store_row(row: u32, rows: u32, row_base: u32, col_offset: vec4<u32>, col_ok: vec4<bool>, v: vec4<f32>) {
  if (row >= rows) { return; }
  if (col_ok.x) { out[row_base + col_offset.x] = v.x; }
  if (col_ok.y) { out[row_base + col_offset.y] = v.y; }
  if (col_ok.z) { out[row_base + col_offset.z] = v.z; }
  if (col_ok.w) { out[row_base + col_offset.w] = v.w; }
}

// The 8×4 accumulator block lives in these module-scope privates so the entry points can share
// the update and store code (a struct passed by value compiles to slow code on lavapipe).
var<private> acc0: vec4<f32>;
var<private> acc1: vec4<f32>;
var<private> acc2: vec4<f32>;
var<private> acc3: vec4<f32>;
var<private> acc4: vec4<f32>;
var<private> acc5: vec4<f32>;
var<private> acc6: vec4<f32>;
var<private> acc7: vec4<f32>;

fn accumulate(low: vec4<f32>, high: vec4<f32>, b: vec4<f32>) {
  acc0 = fma(vec4<f32>(low.x), b, acc0);
  acc1 = fma(vec4<f32>(low.y), b, acc1);
  acc2 = fma(vec4<f32>(low.z), b, acc2);
  acc3 = fma(vec4<f32>(low.w), b, acc3);
  acc4 = fma(vec4<f32>(high.x), b, acc4);
  acc5 = fma(vec4<f32>(high.y), b, acc5);
  acc6 = fma(vec4<f32>(high.z), b, acc6);
  acc7 = fma(vec4<f32>(high.w), b, acc7);
}

// Row r of the block goes to out[row_base + r·row_stride + col_offset].
fn store_block(row0: u32, rows: u32, row_base: u32, row_stride: u32, col_offset: vec4<u32>, col_ok: vec4<bool>) {
  store_row(row0, rows, row_base, col_offset, col_ok, acc0);
  store_row(row0 + 1u, rows, row_base + row_stride, col_offset, col_ok, acc1);
  store_row(row0 + 2u, rows, row_base + 2u * row_stride, col_offset, col_ok, acc2);
  store_row(row0 + 3u, rows, row_base + 3u * row_stride, col_offset, col_ok, acc3);
  store_row(row0 + 4u, rows, row_base + 4u * row_stride, col_offset, col_ok, acc4);
  store_row(row0 + 5u, rows, row_base + 5u * row_stride, col_offset, col_ok, acc5);
  store_row(row0 + 6u, rows, row_base + 6u * row_stride, col_offset, col_ok, acc6);
  store_row(row0 + 7u, rows, row_base + 7u * row_stride, col_offset, col_ok, acc7);
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let q = p;
  let g = wid.z;
  let cin = q.channels / q.groups;
  let cout = q.out_channels / q.groups;
  let plane_in = q.height * q.width;
  let plane_out = q.out_height * q.out_width;
  let pixels = pixel_cols(wid.x, lid.x, plane_out);
  let ih0 = vec4<i32>((pixels.pix / q.out_width) * q.window.stride_h) - i32(q.window.pad_top);
  let iw0 = vec4<i32>((pixels.pix % q.out_width) * q.window.stride_w) - i32(q.window.pad_left);
  let x_base = (pixels.n * q.channels + g * cin) * plane_in;
  let depth = cin * q.window.kernel_h * q.window.kernel_w;
  var w_low = (g * cout + rows_low(wid.y, cout)) * depth;
  var w_high = (g * cout + rows_high(wid.y, cout)) * depth;
  for (var ci = 0u; ci < cin; ci++) {
    let chan = x_base + ci * plane_in;
    for (var kh = 0u; kh < q.window.kernel_h; kh++) {
      let ih = ih0 + i32(kh * q.window.dilation_h);
      let ok_h = in_range(ih, q.height) & pixels.ok;
      let line = chan + clamp_index(ih, q.height) * q.width;
      for (var kw = 0u; kw < q.window.kernel_w; kw++) {
        let iw = iw0 + i32(kw * q.window.dilation_w);
        let xv = gather_first(line + clamp_index(iw, q.width), ok_h & in_range(iw, q.width));
        accumulate(second4(w_low), second4(w_high), xv);
        w_low += vec4<u32>(1u);
        w_high += vec4<u32>(1u);
      }
    }
  }
  let row0 = wid.y * ROWS;
  store_block(row0, cout, (g * cout + row0) * plane_out, plane_out, pixels.n * q.out_channels * plane_out + pixels.pix, pixels.ok);
}

@compute @workgroup_size(WG)
fn input_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let q = p;
  let g = wid.z;
  let cin = q.channels / q.groups;
  let cout = q.out_channels / q.groups;
  let plane_in = q.height * q.width;
  let plane_out = q.out_height * q.out_width;
  let pixels = pixel_cols(wid.x, lid.x, plane_in);
  // Output row oh reaches input row ih through tap kh when oh·sh = ih + pt − kh·dh.
  let th0 = vec4<i32>(pixels.pix / q.width) + i32(q.window.pad_top);
  let tw0 = vec4<i32>(pixels.pix % q.width) + i32(q.window.pad_left);
  let gy_base = (pixels.n * q.out_channels + g * cout) * plane_out;
  let taps = q.window.kernel_h * q.window.kernel_w;
  var w_low = g * cout * cin * taps + rows_low(wid.y, cin) * taps;
  var w_high = g * cout * cin * taps + rows_high(wid.y, cin) * taps;
  let sh = vec4<i32>(i32(q.window.stride_h));
  let sw = vec4<i32>(i32(q.window.stride_w));
  for (var o = 0u; o < cout; o++) {
    let chan = gy_base + o * plane_out;
    for (var kh = 0u; kh < q.window.kernel_h; kh++) {
      let th = th0 - i32(kh * q.window.dilation_h);
      let oh = max(th, vec4<i32>(0)) / sh;
      let ok_h = (th >= vec4<i32>(0)) & (oh * sh == th) & (oh < vec4<i32>(i32(q.out_height))) & pixels.ok;
      let line = chan + clamp_index(oh, q.out_height) * q.out_width;
      for (var kw = 0u; kw < q.window.kernel_w; kw++) {
        let tw = tw0 - i32(kw * q.window.dilation_w);
        let ow = max(tw, vec4<i32>(0)) / sw;
        let ok = ok_h & (tw >= vec4<i32>(0)) & (ow * sw == tw) & (ow < vec4<i32>(i32(q.out_width)));
        let gv = gather_first(line + clamp_index(ow, q.out_width), ok);
        let tap = vec4<u32>(kh * q.window.kernel_w + kw);
        accumulate(second4(w_low + tap), second4(w_high + tap), gv);
      }
    }
    w_low += vec4<u32>(cin * taps);
    w_high += vec4<u32>(cin * taps);
  }
  let row0 = wid.y * ROWS;
  store_block(row0, cin, (g * cin + row0) * plane_in, plane_in, pixels.n * q.channels * plane_in + pixels.pix, pixels.ok);
}

@compute @workgroup_size(WG)
fn weight_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let q = p;
  let g = wid.z / q.k_splits;
  let split = wid.z % q.k_splits;
  let cin = q.channels / q.groups;
  let cout = q.out_channels / q.groups;
  let plane_in = q.height * q.width;
  let plane_out = q.out_height * q.out_width;
  let taps = q.window.kernel_h * q.window.kernel_w;
  let cols = cin * taps;
  let col = tile_cols(wid.x, lid.x);
  let col_ok = col < vec4<u32>(cols);
  let c = min(col, vec4<u32>(cols - 1u));
  let tap = c % taps;
  let x_chan = (g * cin + c / taps) * plane_in;
  let dh = vec4<i32>((tap / q.window.kernel_w) * q.window.dilation_h) - i32(q.window.pad_top);
  let dw = vec4<i32>((tap % q.window.kernel_w) * q.window.dilation_w) - i32(q.window.pad_left);
  let gy_low = (g * cout + rows_low(wid.y, cout)) * plane_out;
  let gy_high = (g * cout + rows_high(wid.y, cout)) * plane_out;
  let depth = q.batch * plane_out;
  let k_begin = split * q.k_chunk;
  let k_end = min(k_begin + q.k_chunk, depth);
  var n = k_begin / plane_out;
  var oh = (k_begin % plane_out) / q.out_width;
  var ow = k_begin % q.out_width;
  for (var k = k_begin; k < k_end; k++) {
    let gy_at = vec4<u32>(n * q.out_channels * plane_out + oh * q.out_width + ow);
    let ih = dh + i32(oh * q.window.stride_h);
    let iw = dw + i32(ow * q.window.stride_w);
    let ok = in_range(ih, q.height) & in_range(iw, q.width) & col_ok;
    let xv = gather_first(n * q.channels * plane_in + x_chan + clamp_index(ih, q.height) * q.width +
                          clamp_index(iw, q.width), ok);
    accumulate(second4(gy_low + gy_at), second4(gy_high + gy_at), xv);
    ow++;
    if (ow == q.out_width) {
      ow = 0u;
      oh++;
      if (oh == q.out_height) {
        oh = 0u;
        n++;
      }
    }
  }
  let row0 = wid.y * ROWS;
  store_block(row0, cout, split * q.out_channels * cols + (g * cout + row0) * cols, cols, col, col_ok);
}
