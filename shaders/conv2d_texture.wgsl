// conv2d and its gradients through textures, for adapters that run compute shaders on the CPU
// (lavapipe, SwiftShader): there a texel fetch is one vectorised gather of 4 floats, while a
// storage-buffer read is a loop over the SIMD lanes (see matmul_texture.wgsl). Same maths as
// conv2d.wgsl (groups = 1); operands are first packed channels-last, 4 channels per rgba32float texel.
//
// pack_input — NCHW src → texture texel (c4·tex_w + u, n·tex_h + v) = src[n, 4c4..4c4+3, i, j]
//   where v = off_h + i·step_h, u = off_w + j·step_w; every other texel (the zero padding, the
//   holes of a stride-dilated gradient, channels past C) is 0, so readers need no edge checks.
//   Bindings: 0 params, 1 src (read), 2 dst (texture_storage_2d_array<rgba32float, write>).
//   Workgroup (8, 8); grid (ceil(C4·tex_w / 8), ceil(N·tex_h / 8)).
// pack_weights — OIHW w → texel (tap·inner4 + i4, r) = w over 4 consecutive `inner` channels:
//   forward (FLIP = 0): r = o, inner = c, tap = kh·KW + kw: w[o, c, kh, kw];
//   input gradient (FLIP = 1): r = c, inner = o, the transposed kernel with its taps (a subset,
//   see PackWeights) in reverse order.
//   Bindings: 0 params, 1 w (read), 2 dst. Workgroup (8, 8); grid (ceil(taps·inner4 / 8), ceil(rows / 8)).
// conv_texture — out[n, r, oh, ow] = Σ_{kh, kw, i4} W[r, tap, i4] · X[n, oh·sh + kh·dh, ow·sw + kw·dw, i4]
//   over the packed operands: the forward pass on the padded input; the input gradient, per stride
//   phase (ih mod sh, iw mod sw), as a stride-1 convolution of the shifted output gradient with
//   the phase's taps of the transposed, flipped kernel, written to that phase's pixels.
//   Each thread owns 4·ROW_QUADS rows × 8 pixels; workgroup (WG_X, WG_Y) covers 4·ROW_QUADS·WG_Y
//   rows × 8·WG_X pixels.
//   Bindings: 0 params, 1 weights, 2 input (texture_2d_array<f32>), 3 out (storage, write).
//   Grid (ceil(N·OH·OW / (8·WG_X)), ceil(rows / (8·WG_Y))).
// weight_grad_texture — partial[split, o, c, kh, kw] = Σ_{(n, oh) in split, ow} G[n, oh, ow, o] ·
//   X[n, oh·sh + kh·dh, ow·sw + kw·dw, c] with G the packed output gradient, X the padded input.
//   Each thread owns 8 output channels × 4 column groups (tap, c4) of 4 input channels.
//   Workgroup (8, 8) covers 64 channels × 32 column groups. Bindings: 0 params, 1 gy, 2 input
//   (textures), 3 partial (write). Grid (ceil(taps·C4 / 32), ceil(O / 64), k_splits); k_chunk
//   counts output rows (n, oh).
// Overrides: FLIP (pack_weights); WG_X, WG_Y, ROW_QUADS (conv_texture's 64-thread workgroup and
// rows per thread: the launcher gives few-row products such as the RGB input gradient 4 rows per
// thread and a (64, 1) workgroup, so little work is wasted on rows that do not exist).
#include "lib/window.wgsl"
override FLIP: bool = false;
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override ROW_QUADS: u32 = 2u;

struct PackInput {
  batch: u32,
  channels: u32,
  src_h: u32, src_w: u32,
  tex_h: u32, tex_w: u32,
  off_h: i32, off_w: i32,
  step_h: u32, step_w: u32,
}
@group(0) @binding(0) var<storage, read> pack: PackInput;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var dst: texture_storage_2d_array<rgba32float, write>;

@compute @workgroup_size(8, 8)
fn pack_input(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c4_count = (pack.channels + 3u) / 4u;
  if (gid.x >= c4_count * pack.tex_w || gid.y >= pack.batch * pack.tex_h) { return; }
  let c = (gid.x / pack.tex_w) * 4u;
  let n = gid.y / pack.tex_h;
  // Which source element (i, j), if any, lands on this texel.
  let dv = i32(gid.y % pack.tex_h) - pack.off_h;
  let du = i32(gid.x % pack.tex_w) - pack.off_w;
  let i = u32(max(dv, 0)) / pack.step_h;
  let j = u32(max(du, 0)) / pack.step_w;
  let inside = dv >= 0 && du >= 0 && i * pack.step_h == u32(dv) && j * pack.step_w == u32(du) &&
               i < pack.src_h && j < pack.src_w;
  let plane = pack.src_h * pack.src_w;
  let at = (n * pack.channels + c) * plane + min(i, pack.src_h - 1u) * pack.src_w + min(j, pack.src_w - 1u);
  let last = (n + 1u) * pack.channels * plane - 1u;  // keeps reads of channels past C inside the image
  let ok = vec4<bool>(inside) & (vec4<u32>(c) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(pack.channels));
  let texel = vec4<f32>(src[min(at, last)], src[min(at + plane, last)], src[min(at + 2u * plane, last)],
                        src[min(at + 3u * plane, last)]);
  textureStore(dst, gid.xy, 0, select(vec4<f32>(0.0), texel, ok));
}

// Texture tap (th, tw) of taps_h × taps_w reads kernel tap (first_h + step_h·th', first_w + step_w·tw')
// with th' = th (forward) or taps_h − 1 − th (FLIP: reversed); the input gradient of a strided
// convolution takes, per output phase, only the taps that reach it.
struct TapSelection {
  taps_h: u32, taps_w: u32,
  first_h: u32, first_w: u32,
  step_h: u32, step_w: u32,
}

struct PackWeights {
  rows: u32,
  inner: u32,
  kernel_h: u32, kernel_w: u32,
  selection: TapSelection,
}
@group(0) @binding(0) var<storage, read> pack_w: PackWeights;
@group(0) @binding(1) var<storage, read> weights_src: array<f32>;

fn weight_value(r: u32, i: u32, kh: u32, kw: u32) -> f32 {
  let ic = min(i, pack_w.inner - 1u);
  // forward: w[r, i, kh, kw]; flipped: w is [inner, rows, KH, KW] and we read w[i, r, ·, ·].
  let index = select(r * pack_w.inner + ic, ic * pack_w.rows + r, FLIP) * pack_w.kernel_h * pack_w.kernel_w +
              kh * pack_w.kernel_w + kw;
  return select(0.0, weights_src[index], i < pack_w.inner);
}

@compute @workgroup_size(8, 8)
fn pack_weights(@builtin(global_invocation_id) gid: vec3<u32>) {
  let inner4 = (pack_w.inner + 3u) / 4u;
  let sel = pack_w.selection;
  let taps = sel.taps_h * sel.taps_w;
  if (gid.x >= taps * inner4 || gid.y >= pack_w.rows) { return; }
  let tap = gid.x / inner4;
  let i = (gid.x % inner4) * 4u;
  let th = tap / sel.taps_w;
  let tw = tap % sel.taps_w;
  let kh = sel.first_h + sel.step_h * select(th, sel.taps_h - 1u - th, FLIP);
  let kw = sel.first_w + sel.step_w * select(tw, sel.taps_w - 1u - tw, FLIP);
  let r = gid.y;
  let texel = vec4<f32>(weight_value(r, i, kh, kw), weight_value(r, i + 1u, kh, kw),
                        weight_value(r, i + 2u, kh, kw), weight_value(r, i + 3u, kh, kw));
  textureStore(dst, gid.xy, 0, texel);
}

// conv_texture writes grid pixel (i, j) to (off_h + step_h·i, off_w + step_w·j) of a height × width
// plane (the forward pass: the identity; the input gradient: one stride phase).
struct Placement {
  height: u32, width: u32,
  off_h: u32, off_w: u32,
  step_h: u32, step_w: u32,
}

// The window's padding is 0: the packed input is already padded.
struct Conv {
  batch: u32,
  rows: u32,
  inner4: u32,
  out_h: u32, out_w: u32,
  window: Window,
  tex_h: u32, tex_w: u32,
  k_chunk: u32,
  channels: u32,
  dest: Placement,
}
@group(0) @binding(0) var<storage, read> conv: Conv;
@group(0) @binding(1) var first_tex: texture_2d_array<f32>;
@group(0) @binding(2) var input_tex: texture_2d_array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn fetch(t: texture_2d_array<f32>, u: u32, v: u32) -> vec4<f32> {
  return textureLoad(t, vec2<u32>(u, v), 0, 0);
}

/** Column j of the result gains wq[j]·x: four rows (wq's columns) against four pixels (x's columns). */
fn rows_by_pixels(c: mat4x4<f32>, wq: mat4x4<f32>, x: mat4x4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(c[0] + wq[0] * x, c[1] + wq[1] * x, c[2] + wq[2] * x, c[3] + wq[3] * x);
}

fn store_quad(row: u32, pix: vec4<u32>, n: vec4<u32>, ok: vec4<bool>, v: vec4<f32>) {
  if (row >= conv.rows) { return; }
  let plane = conv.dest.height * conv.dest.width;
  if (ok.x) { out[(n.x * conv.rows + row) * plane + pix.x] = v.x; }
  if (ok.y) { out[(n.y * conv.rows + row) * plane + pix.y] = v.y; }
  if (ok.z) { out[(n.z * conv.rows + row) * plane + pix.z] = v.z; }
  if (ok.w) { out[(n.w * conv.rows + row) * plane + pix.w] = v.w; }
}

/** Rows row0 .. row0+3 (the columns of c) at four pixels. */
fn store_rows(row0: u32, pix: vec4<u32>, n: vec4<u32>, ok: vec4<bool>, c: mat4x4<f32>) {
  store_quad(row0, pix, n, ok, c[0]);
  store_quad(row0 + 1u, pix, n, ok, c[1]);
  store_quad(row0 + 2u, pix, n, ok, c[2]);
  store_quad(row0 + 3u, pix, n, ok, c[3]);
}

@compute @workgroup_size(WG_X, WG_Y)
fn conv_texture(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let plane = conv.out_h * conv.out_w;
  let cols = conv.batch * plane;
  let col0 = (wid.x * WG_X + lid.x) * 8u;
  let row0 = (wid.y * WG_Y + lid.y) * 4u * ROW_QUADS;
  let cols_a = vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u);
  let cols_b = cols_a + vec4<u32>(4u);
  let ok_a = cols_a < vec4<u32>(cols);
  let ok_b = cols_b < vec4<u32>(cols);
  let ca = min(cols_a, vec4<u32>(cols - 1u));
  let cb = min(cols_b, vec4<u32>(cols - 1u));
  let n_a = ca / plane;
  let n_b = cb / plane;
  let pix_a = ca % plane;
  let pix_b = cb % plane;
  // Top-left texel of each pixel's receptive field in the packed input.
  let u_a = (pix_a % conv.out_w) * conv.window.stride_w;
  let u_b = (pix_b % conv.out_w) * conv.window.stride_w;
  let v_a = n_a * conv.tex_h + (pix_a / conv.out_w) * conv.window.stride_h;
  let v_b = n_b * conv.tex_h + (pix_b / conv.out_w) * conv.window.stride_h;
  var c00 = mat4x4<f32>(); var c01 = mat4x4<f32>();
  var c10 = mat4x4<f32>(); var c11 = mat4x4<f32>();
  var w_col = 0u;
  for (var kh = 0u; kh < conv.window.kernel_h; kh++) {
    let dv = kh * conv.window.dilation_h;
    for (var kw = 0u; kw < conv.window.kernel_w; kw++) {
      var du = kw * conv.window.dilation_w;
      for (var i4 = 0u; i4 < conv.inner4; i4++) {
        let xa = mat4x4<f32>(fetch(input_tex, u_a.x + du, v_a.x + dv), fetch(input_tex, u_a.y + du, v_a.y + dv),
                             fetch(input_tex, u_a.z + du, v_a.z + dv), fetch(input_tex, u_a.w + du, v_a.w + dv));
        let xb = mat4x4<f32>(fetch(input_tex, u_b.x + du, v_b.x + dv), fetch(input_tex, u_b.y + du, v_b.y + dv),
                             fetch(input_tex, u_b.z + du, v_b.z + dv), fetch(input_tex, u_b.w + du, v_b.w + dv));
        let w0 = mat4x4<f32>(fetch(first_tex, w_col, row0), fetch(first_tex, w_col, row0 + 1u),
                             fetch(first_tex, w_col, row0 + 2u), fetch(first_tex, w_col, row0 + 3u));
        if (ROW_QUADS == 2u) {
          let w1 = mat4x4<f32>(fetch(first_tex, w_col, row0 + 4u), fetch(first_tex, w_col, row0 + 5u),
                               fetch(first_tex, w_col, row0 + 6u), fetch(first_tex, w_col, row0 + 7u));
          c10 = rows_by_pixels(c10, w1, xa); c11 = rows_by_pixels(c11, w1, xb);
        }
        c00 = rows_by_pixels(c00, w0, xa); c01 = rows_by_pixels(c01, w0, xb);
        w_col++;
        du += conv.tex_w;
      }
    }
  }
  let dest_a = (conv.dest.off_h + conv.dest.step_h * (pix_a / conv.out_w)) * conv.dest.width +
               conv.dest.off_w + conv.dest.step_w * (pix_a % conv.out_w);
  let dest_b = (conv.dest.off_h + conv.dest.step_h * (pix_b / conv.out_w)) * conv.dest.width +
               conv.dest.off_w + conv.dest.step_w * (pix_b % conv.out_w);
  store_rows(row0, dest_a, n_a, ok_a, c00); store_rows(row0, dest_b, n_b, ok_b, c01);
  if (ROW_QUADS == 2u) {
    store_rows(row0 + 4u, dest_a, n_a, ok_a, c10); store_rows(row0 + 4u, dest_b, n_b, ok_b, c11);
  }
}

/** c + outer product: column j (output channel) gains g[j]·x (4 input channels). */
fn outer_add(c: mat4x4<f32>, x: vec4<f32>, g: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(fma(vec4<f32>(g.x), x, c[0]), fma(vec4<f32>(g.y), x, c[1]),
                     fma(vec4<f32>(g.z), x, c[2]), fma(vec4<f32>(g.w), x, c[3]));
}

// Weight-gradient geometry reuses Conv: rows = O, inner4 = C4, channels = C, out_h/out_w = OH/OW of
// the forward pass, tex_h/tex_w = the padded input's texture block; gy's block is OH × OW.
/** Writes dw[split, o0 + j, 4·c4 + i, kh, kw] = c[j][i] for valid o and c. */
fn store_dw(split: u32, o0: u32, group: u32, channels: u32, c: mat4x4<f32>) {
  let taps = conv.window.kernel_h * conv.window.kernel_w;
  if (group >= taps * conv.inner4) { return; }
  let tap = group / conv.inner4;
  let c0 = (group % conv.inner4) * 4u;
  for (var j = 0u; j < 4u; j++) {
    let o = o0 + j;
    if (o >= conv.rows) { continue; }
    for (var i = 0u; i < 4u; i++) {
      if (c0 + i < channels) {
        out[((split * conv.rows + o) * channels + c0 + i) * taps + tap] = c[j][i];
      }
    }
  }
}

@compute @workgroup_size(8, 8)
fn weight_grad_texture(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let taps = conv.window.kernel_h * conv.window.kernel_w;
  let groups = taps * conv.inner4;
  let o0 = wid.y * 64u + lid.y * 8u;
  let o4 = o0 / 4u;
  let first_group = wid.x * 32u + lid.x * 4u;
  // Texel offsets of the four column groups (tap, c4) in the padded input, clamped into range.
  let g = min(vec4<u32>(first_group) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(groups - 1u));
  let tap = g / conv.inner4;
  let du = (g % conv.inner4) * conv.tex_w + (tap % conv.window.kernel_w) * conv.window.dilation_w;
  let dv = (tap / conv.window.kernel_w) * conv.window.dilation_h;
  // This split's depth: output rows (n, oh) k_begin .. k_end, each swept along ow without branches.
  let k_begin = wid.z * conv.k_chunk;
  let k_end = min(k_begin + conv.k_chunk, conv.batch * conv.out_h);
  var c00 = mat4x4<f32>(); var c01 = mat4x4<f32>(); var c02 = mat4x4<f32>(); var c03 = mat4x4<f32>();
  var c10 = mat4x4<f32>(); var c11 = mat4x4<f32>(); var c12 = mat4x4<f32>(); var c13 = mat4x4<f32>();
  for (var k = k_begin; k < k_end; k++) {
    let n = k / conv.out_h;
    let oh = k % conv.out_h;
    let v = n * conv.tex_h + oh * conv.window.stride_h;
    let xv = vec4<u32>(v) + dv;
    var xu = du;
    var gu = o4 * conv.out_w;
    for (var ow = 0u; ow < conv.out_w; ow++) {
      let g0 = fetch(first_tex, gu, k);
      let g1 = fetch(first_tex, gu + conv.out_w, k);
      let x0 = fetch(input_tex, xu.x, xv.x);
      let x1 = fetch(input_tex, xu.y, xv.y);
      let x2 = fetch(input_tex, xu.z, xv.z);
      let x3 = fetch(input_tex, xu.w, xv.w);
      c00 = outer_add(c00, x0, g0); c01 = outer_add(c01, x1, g0); c02 = outer_add(c02, x2, g0); c03 = outer_add(c03, x3, g0);
      c10 = outer_add(c10, x0, g1); c11 = outer_add(c11, x1, g1); c12 = outer_add(c12, x2, g1); c13 = outer_add(c13, x3, g1);
      gu++;
      xu += vec4<u32>(conv.window.stride_w);
    }
  }
  let channels = conv.channels;
  store_dw(wid.z, o0, first_group, channels, c00);
  store_dw(wid.z, o0, first_group + 1u, channels, c01);
  store_dw(wid.z, o0, first_group + 2u, channels, c02);
  store_dw(wid.z, o0, first_group + 3u, channels, c03);
  store_dw(wid.z, o0 + 4u, first_group, channels, c10);
  store_dw(wid.z, o0 + 4u, first_group + 1u, channels, c11);
  store_dw(wid.z, o0 + 4u, first_group + 2u, channels, c12);
  store_dw(wid.z, o0 + 4u, first_group + 3u, channels, c13);
}
