// conv2d and its gradients through textures, for adapters that run compute shaders on the CPU
// (lavapipe, SwiftShader): there a texel fetch is one vectorised gather of 4 floats, while a
// storage-buffer read is a loop over the SIMD lanes (see matmul_texture.wgsl). Same maths as
// conv2d.wgsl (groups = 1); operands are first packed channels-last, 4 channels per rgba32float texel.
//
// pack_input — NCHW src → texture texel (c4·tex_w + u, n·tex_h + v) = src[n, 4c4..4c4+3, i, j]
//   where v = off_h + i, u = off_w + j; every other texel (the zero padding, channels past C) is 0,
//   so readers need no edge checks.
//   Bindings: 0 params, 1 src (read), 2 dst (texture_storage_2d_array<rgba32float, write>).
//   Workgroup (8, 8); grid (ceil(tex_w / 8), N·ceil(tex_h / 8), C4).
// pack_weights — OIHW w → texel (tap·inner4 + i4, r) = w over 4 consecutive `inner` channels:
//   forward (FLIP = 0): r = o, inner = c, tap = kh·KW + kw: w[o, c, kh, kw];
//   input gradient (FLIP = 1): r = c, inner = o, the transposed kernel with its taps (a subset,
//   see PackWeights) in reverse order.
//   Bindings: 0 params, 1 w (read), 2 dst. Workgroup (8, 8); grid (ceil(taps·inner4 / 8), ceil(rows / 8)).
// conv_texture — out[n, r, oh, ow] = Σ_{kh, kw, i4} W[r, tap, i4] · X[n, t + oh·sh + kh·dh, l + ow·sw + kw·dw, i4]
//   over the packed operands, from the origin (t, l) = (pad_top, pad_left): the forward pass on
//   the padded input (origin 0); the input gradient, per stride phase (ih mod sh, iw mod sw), as a
//   stride-1 convolution of the output gradient (one packing for all phases, each read from its
//   own origin) with the phase's taps of the transposed, flipped kernel, written to that phase's pixels.
//   Each thread owns 4·ROW_QUADS rows × 16 pixels; workgroup (WG_X, WG_Y) covers 4·ROW_QUADS·WG_Y
//   rows × 16·WG_X pixels (ROWS_FAST: 4·ROW_QUADS·WG_X rows × 16·WG_Y pixels). The fetches, not
//   the products, bound this kernel on lavapipe, so a thread's block is as large as it pays:
//   16 rows × 16 pixels take about a third less CPU time than 8 × 8, although their 256
//   accumulators spill to the stack. lavapipe runs a workgroup's x in SIMD vectors of 8 threads,
//   so x must have work for all of them: where there are too few pixels for that (ResNet's 4×4 and
//   2×2 layers at 64×64), ROWS_FAST lets x step through rows instead.
//   Bindings: 0 params, 1 weights, 2 input (texture_2d_array<f32>), 3 out (storage, write).
//   Grid (ceil(N·OH·OW / pixels per workgroup), ceil(rows / rows per workgroup)).
// weight_grad_texture — partial[split, o, c, kh, kw] = Σ_{(n, oh) in split, ow} G[n, oh, ow, o] ·
//   X[n, oh·sh + kh·dh, ow·sw + kw·dw, c] with G the packed output gradient, X the padded input;
//   G[n, oh, ow] lies at (dest.off + (oh, ow)) of its [dest.height, dest.width] block (the
//   packing of gy that the input gradient's stride phases read too).
//   Each thread owns 16 output channels × 4 column groups (tap, c4) of 4 input channels: 8
//   fetches per 256 products (8 × 4 took about a tenth more CPU time on lavapipe; 32 × 4, a sixth
//   less, but its 512 accumulators took LLVM 30 s to compile).
//   Workgroup (8, 4) covers 64 channels × 32 column groups. Bindings: 0 params, 1 gy, 2 input
//   (textures), 3 partial (write). Grid (ceil(taps·C4 / 32), ceil(O / 64), k_splits); k_chunk
//   counts output rows (n, oh).
// Overrides: FLIP (pack_weights); WG_X, WG_Y, ROW_QUADS (conv_texture's workgroup and row quads
// per thread, 1, 2 or 4: the launcher gives few-row products such as the RGB input gradient 4 rows
// per thread and a (64, 1) workgroup, so little work is wasted on rows that do not exist), ROWS_FAST
// (conv_texture's x counts row blocks and y pixel blocks).
#include "lib/window.wgsl"
override FLIP: bool = false;
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override ROW_QUADS: u32 = 4u;
override ROWS_FAST: bool = false;

struct PackInput {
  batch: u32,
  channels: u32,
  src_h: u32, src_w: u32,
  tex_h: u32, tex_w: u32,
  off_h: i32, off_w: i32,
}
@group(0) @binding(0) var<uniform> pack: PackInput;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var dst: texture_storage_2d_array<rgba32float, write>;

// One texel per thread. The grid's y counts (n, 8-row block) and its z the channel quad, so the
// texture's extents bound every grid dimension and no thread divides per texel.
@compute @workgroup_size(8, 8)
fn pack_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row_blocks = (pack.tex_h + 7u) / 8u;
  let n = wid.y / row_blocks;
  let u = wid.x * 8u + lid.x;
  let v = (wid.y % row_blocks) * 8u + lid.y;
  if (u >= pack.tex_w || v >= pack.tex_h) { return; }
  let c4 = wid.z;
  let c = c4 * 4u;
  // The source element (i, j) that lands on this texel, if any.
  let i = i32(v) - pack.off_h;
  let j = i32(u) - pack.off_w;
  let inside = i >= 0 && j >= 0 && u32(i) < pack.src_h && u32(j) < pack.src_w;
  let plane = pack.src_h * pack.src_w;
  let at = (n * pack.channels + c) * plane + u32(clamp(i, 0, i32(pack.src_h) - 1)) * pack.src_w +
           u32(clamp(j, 0, i32(pack.src_w) - 1));
  let last = (n + 1u) * pack.channels * plane - 1u;  // keeps reads of channels past C inside the image
  let ok = vec4<bool>(inside) & (vec4<u32>(c) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(pack.channels));
  let texel = vec4<f32>(src[min(at, last)], src[min(at + plane, last)], src[min(at + 2u * plane, last)],
                        src[min(at + 3u * plane, last)]);
  textureStore(dst, vec2<u32>(c4 * pack.tex_w + u, n * pack.tex_h + v), 0, select(vec4<f32>(0.0), texel, ok));
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
@group(0) @binding(0) var<uniform> pack_w: PackWeights;
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

// The packed input is already padded; the window's pad_top / pad_left say where in each block the
// receptive fields start (an input gradient's stride phase reads gy's shared packing from its own origin).
struct Conv {
  batch: u32,
  rows: u32,
  inner4: u32,
  out_h: u32, out_w: u32,
  _pad0: u32, _pad1: u32, _pad2: u32,  // a struct member of a uniform block starts 16-byte aligned
  window: Window,
  tex_h: u32, tex_w: u32,
  k_chunk: u32,
  channels: u32,
  dest: Placement,
}
@group(0) @binding(0) var<uniform> conv: Conv;
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

/** Four output pixels: where they are, and whether they exist. */
struct PixelQuad {
  ok: vec4<bool>,
  n: vec4<u32>,
  /** Index in the output plane. */
  pix: vec4<u32>,
  /** Top-left texel of each pixel's receptive field in the packed input. */
  u: vec4<u32>,
  v: vec4<u32>,
}

fn pixel_quad(col0: u32) -> PixelQuad {
  let plane = conv.out_h * conv.out_w;
  let cols = conv.batch * plane;
  let wanted = vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u);
  let c = min(wanted, vec4<u32>(cols - 1u));
  let n = c / plane;
  let pix = c % plane;
  return PixelQuad(wanted < vec4<u32>(cols), n, pix, conv.window.pad_left + (pix % conv.out_w) * conv.window.stride_w,
                   n * conv.tex_h + conv.window.pad_top + (pix / conv.out_w) * conv.window.stride_h);
}

fn fetch_pixels(p: PixelQuad, du: u32, dv: u32) -> mat4x4<f32> {
  let u = p.u + vec4<u32>(du);
  let v = p.v + vec4<u32>(dv);
  return mat4x4<f32>(fetch(input_tex, u.x, v.x), fetch(input_tex, u.y, v.y), fetch(input_tex, u.z, v.z),
                     fetch(input_tex, u.w, v.w));
}

fn fetch_rows(w_col: u32, row0: u32) -> mat4x4<f32> {
  return mat4x4<f32>(fetch(first_tex, w_col, row0), fetch(first_tex, w_col, row0 + 1u),
                     fetch(first_tex, w_col, row0 + 2u), fetch(first_tex, w_col, row0 + 3u));
}

/** Four rows at a thread's 16 pixels (or the 16 pixels' inputs): one mat4 per pixel quad. */
struct Block { a: mat4x4<f32>, b: mat4x4<f32>, c: mat4x4<f32>, d: mat4x4<f32> }

fn block_add(acc: Block, wq: mat4x4<f32>, x: Block) -> Block {
  return Block(rows_by_pixels(acc.a, wq, x.a), rows_by_pixels(acc.b, wq, x.b), rows_by_pixels(acc.c, wq, x.c),
               rows_by_pixels(acc.d, wq, x.d));
}

fn store_pixels(row0: u32, p: PixelQuad, c: mat4x4<f32>) {
  let dest = (conv.dest.off_h + conv.dest.step_h * (p.pix / conv.out_w)) * conv.dest.width +
             conv.dest.off_w + conv.dest.step_w * (p.pix % conv.out_w);
  store_rows(row0, dest, p.n, p.ok, c);
}

fn store_block(row0: u32, pa: PixelQuad, pb: PixelQuad, pc: PixelQuad, pd: PixelQuad, c: Block) {
  store_pixels(row0, pa, c.a); store_pixels(row0, pb, c.b); store_pixels(row0, pc, c.c); store_pixels(row0, pd, c.d);
}

@compute @workgroup_size(WG_X, WG_Y)
fn conv_texture(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let pixel_block = select(wid.x * WG_X + lid.x, wid.x * WG_Y + lid.y, ROWS_FAST);
  let row_block = select(wid.y * WG_Y + lid.y, wid.y * WG_X + lid.x, ROWS_FAST);
  let col0 = pixel_block * 16u;
  let row0 = row_block * 4u * ROW_QUADS;
  let pa = pixel_quad(col0);
  let pb = pixel_quad(col0 + 4u);
  let pc = pixel_quad(col0 + 8u);
  let pd = pixel_quad(col0 + 12u);
  var c0 = Block(); var c1 = Block(); var c2 = Block(); var c3 = Block();
  var w_col = 0u;
  for (var kh = 0u; kh < conv.window.kernel_h; kh++) {
    let dv = kh * conv.window.dilation_h;
    for (var kw = 0u; kw < conv.window.kernel_w; kw++) {
      var du = kw * conv.window.dilation_w;
      for (var i4 = 0u; i4 < conv.inner4; i4++) {
        let x = Block(fetch_pixels(pa, du, dv), fetch_pixels(pb, du, dv), fetch_pixels(pc, du, dv),
                      fetch_pixels(pd, du, dv));
        c0 = block_add(c0, fetch_rows(w_col, row0), x);
        if (ROW_QUADS >= 2u) { c1 = block_add(c1, fetch_rows(w_col, row0 + 4u), x); }
        if (ROW_QUADS == 4u) {
          c2 = block_add(c2, fetch_rows(w_col, row0 + 8u), x);
          c3 = block_add(c3, fetch_rows(w_col, row0 + 12u), x);
        }
        w_col++;
        du += conv.tex_w;
      }
    }
  }
  store_block(row0, pa, pb, pc, pd, c0);
  if (ROW_QUADS >= 2u) { store_block(row0 + 4u, pa, pb, pc, pd, c1); }
  if (ROW_QUADS == 4u) {
    store_block(row0 + 8u, pa, pb, pc, pd, c2);
    store_block(row0 + 12u, pa, pb, pc, pd, c3);
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

/** Four column groups (the columns of x) against one quad of output channels (g). */
struct Quad { c0: mat4x4<f32>, c1: mat4x4<f32>, c2: mat4x4<f32>, c3: mat4x4<f32> }

fn quad_add(c: Quad, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>, g: vec4<f32>) -> Quad {
  return Quad(outer_add(c.c0, x0, g), outer_add(c.c1, x1, g), outer_add(c.c2, x2, g), outer_add(c.c3, x3, g));
}

fn store_quad_dw(split: u32, o0: u32, first_group: u32, c: Quad) {
  store_dw(split, o0, first_group, conv.channels, c.c0);
  store_dw(split, o0, first_group + 1u, conv.channels, c.c1);
  store_dw(split, o0, first_group + 2u, conv.channels, c.c2);
  store_dw(split, o0, first_group + 3u, conv.channels, c.c3);
}

@compute @workgroup_size(8, 4)
fn weight_grad_texture(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let taps = conv.window.kernel_h * conv.window.kernel_w;
  let groups = taps * conv.inner4;
  let o0 = wid.y * 64u + lid.y * 16u;
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
  var a = Quad(); var b = Quad(); var c = Quad(); var d = Quad();
  for (var k = k_begin; k < k_end; k++) {
    let n = k / conv.out_h;
    let oh = k % conv.out_h;
    let v = n * conv.tex_h + oh * conv.window.stride_h;
    let xv = vec4<u32>(v) + dv;
    var xu = du;
    let gv = n * conv.dest.height + conv.dest.off_h + oh;
    var gu = o4 * conv.dest.width + conv.dest.off_w;
    for (var ow = 0u; ow < conv.out_w; ow++) {
      let x0 = fetch(input_tex, xu.x, xv.x);
      let x1 = fetch(input_tex, xu.y, xv.y);
      let x2 = fetch(input_tex, xu.z, xv.z);
      let x3 = fetch(input_tex, xu.w, xv.w);
      a = quad_add(a, x0, x1, x2, x3, fetch(first_tex, gu, gv));
      b = quad_add(b, x0, x1, x2, x3, fetch(first_tex, gu + conv.dest.width, gv));
      c = quad_add(c, x0, x1, x2, x3, fetch(first_tex, gu + 2u * conv.dest.width, gv));
      d = quad_add(d, x0, x1, x2, x3, fetch(first_tex, gu + 3u * conv.dest.width, gv));
      gu++;
      xu += vec4<u32>(conv.window.stride_w);
    }
  }
  store_quad_dw(wid.z, o0, first_group, a);
  store_quad_dw(wid.z, o0 + 4u, first_group, b);
  store_quad_dw(wid.z, o0 + 8u, first_group, c);
  store_quad_dw(wid.z, o0 + 12u, first_group, d);
}
