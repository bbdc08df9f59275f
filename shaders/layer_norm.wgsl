// Layer normalisation over the last axis of x viewed as [rows, n]: x̂ = (x − μ)·r with the row's
// mean μ and r = rsqrt(σ² + eps), σ² the mean of (x − μ)² (two passes, as the composed path
// takes them). One thread per row loops over the row's n values: no workgroup barriers, which CPU
// adapters pay dearly for. The launcher keeps 4·n loop iterations per thread below lavapipe's
// 65 535.
// Bindings (0 is params {rows, n, eps}, 1 is x everywhere):
//   layer_norm:          2 y (write)            y = x̂
//   layer_norm_backward: 2 g, 3 dx (write)      dx = r·(g − mean(g) − x̂·mean(g·x̂)), the gradient
//                                               of ⟨g, x̂⟩
//   layer_norm_double_backward: 2 g, 3 h, 4 out (write)   the gradient of ⟨h, dx⟩ with respect to
//                                               x (formula in src/ops/layer_norm.ts)
//   layer_norm_double_backward_pair: the same and 5 h_backward (write) = layer_norm_backward's dx
//                                               for g = h (the other half of the same rule)
// Workgroup: 32 threads (few rows still spread over the CPU cores), 2-D grid (flattened).
// Every entry point has a `_vec4` twin (end of the file) for n a multiple of 4, binding the same
// buffers as vec4 arrays.

const WORKGROUP = 32u;

struct Params { rows: u32, n: u32, eps: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;

struct RowStats { mean: f32, r: f32 }

fn row_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP + lid;
}

fn row_stats(base: u32) -> RowStats {
  let n = params.n;
  var total = 0.0;
  for (var j = 0u; j < n; j++) { total += x[base + j]; }
  let mean = total / f32(n);
  var squares = 0.0;
  for (var j = 0u; j < n; j++) {
    let c = x[base + j] - mean;
    squares += c * c;
  }
  return RowStats(mean, inverseSqrt(squares / f32(n) + params.eps));
}

// ---------------------------------------------------------------------------------------- forward

@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn layer_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg, lid);
  if (row >= params.rows) { return; }
  let base = row * params.n;
  let s = row_stats(base);
  for (var j = 0u; j < params.n; j++) { y[base + j] = (x[base + j] - s.mean) * s.r; }
}

// --------------------------------------------------------------------------------------- backward

@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// dx at one value of a row, given mean(g) and mean(g·x̂); the double backward's ψ″·h is this for g = h.
fn backward_at(s: RowStats, gj: f32, xj: f32, mean_g: f32, mean_gx: f32) -> f32 {
  return s.r * (gj - mean_g - (xj - s.mean) * s.r * mean_gx);
}

@compute @workgroup_size(WORKGROUP)
fn layer_norm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg, lid);
  if (row >= params.rows) { return; }
  let n = params.n;
  let base = row * n;
  let s = row_stats(base);
  var sum_g = 0.0;
  var sum_gx = 0.0;
  for (var j = 0u; j < n; j++) {
    let gj = g[base + j];
    sum_g += gj;
    sum_gx += gj * (x[base + j] - s.mean) * s.r;
  }
  let mean_g = sum_g / f32(n);
  let mean_gx = sum_gx / f32(n);
  for (var j = 0u; j < n; j++) {
    dx[base + j] = backward_at(s, g[base + j], x[base + j], mean_g, mean_gx);
  }
}

// -------------------------------------------------------------------------------- double backward

@group(0) @binding(3) var<storage, read> h: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> h_backward: array<f32>;

// A row's statistics and the coefficients of out = q·(sgx·h + hxx·g + shift + scale·x̂); mean_h and
// mean_hx give ψ″·h = r·(h − mean_h − x̂·mean_hx) (layer_norm_backward's dx for g = h).
struct DoubleBackwardRow { s: RowStats, q: f32, sgx: f32, hxx: f32, shift: f32, scale: f32, mean_h: f32, mean_hx: f32 }

fn double_backward_row(base: u32) -> DoubleBackwardRow {
  let n = params.n;
  let s = row_stats(base);
  var sg = 0.0;
  var sgx = 0.0;
  var hx = 0.0;
  var hxx = 0.0;
  var shg = 0.0;
  var hx_backward = 0.0; // Σh·x̂ multiplied as layer_norm_backward does, so ψ″·h rounds as that kernel's
  for (var j = 0u; j < n; j++) {
    let normalized = (x[base + j] - s.mean) * s.r;
    let gj = g[base + j];
    let hj = h[base + j];
    sg += gj;
    sgx += gj * normalized;
    hx += hj;
    hxx += hj * normalized;
    shg += hj * gj;
    hx_backward += hj * (x[base + j] - s.mean) * s.r;
  }
  let count = f32(n);
  let k = shg - (hx * sg + hxx * sgx) / count;
  return DoubleBackwardRow(s, -s.r * s.r / count, sgx, hxx, -(sgx * hx + hxx * sg) / count, k - 2.0 * sgx * hxx / count,
                           hx / count, hx_backward / count);
}

// out at one value of a row.
fn double_backward_at(c: DoubleBackwardRow, xj: f32, gj: f32, hj: f32) -> f32 {
  let normalized = (xj - c.s.mean) * c.s.r;
  return c.q * (c.sgx * hj + c.hxx * gj + c.shift + c.scale * normalized);
}

@compute @workgroup_size(WORKGROUP)
fn layer_norm_double_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg, lid);
  if (row >= params.rows) { return; }
  let base = row * params.n;
  let c = double_backward_row(base);
  for (var j = 0u; j < params.n; j++) {
    out[base + j] = double_backward_at(c, x[base + j], g[base + j], h[base + j]);
  }
}

// The same, and ψ″·h into h_backward: the rule that asks for the double backward asks for ψ″·h next.
@compute @workgroup_size(WORKGROUP)
fn layer_norm_double_backward_pair(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                   @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg, lid);
  if (row >= params.rows) { return; }
  let base = row * params.n;
  let c = double_backward_row(base);
  for (var j = 0u; j < params.n; j++) {
    out[base + j] = double_backward_at(c, x[base + j], g[base + j], h[base + j]);
    h_backward[base + j] = backward_at(c.s, h[base + j], x[base + j], c.mean_h, c.mean_hx);
  }
}

// ------------------------------------------------------------------------------------ vec4 rows
// The same four kernels for n a multiple of 4: each thread reads its row four values at a time.
// On CPU adapters a storage read whose address differs across the SIMD lanes (here: rows n apart)
// is a loop over the lanes, so a vec4 read costs about what one float's does. The sums add the
// four components in order, so every result is the scalar kernel's, bit for bit.

@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> h4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> h_backward4: array<vec4<f32>>;

fn add4(total: f32, v: vec4<f32>) -> f32 { return total + v.x + v.y + v.z + v.w; }

// row_stats for the row at vec4 index base (n/4 vec4s).
fn row_stats4(base: u32) -> RowStats {
  let n = params.n;
  var total = 0.0;
  for (var j = 0u; j < n / 4u; j++) { total = add4(total, x4[base + j]); }
  let mean = total / f32(n);
  var squares = 0.0;
  for (var j = 0u; j < n / 4u; j++) {
    let c = x4[base + j] - mean;
    squares = add4(squares, c * c);
  }
  return RowStats(mean, inverseSqrt(squares / f32(n) + params.eps));
}

@compute @workgroup_size(WORKGROUP)
fn layer_norm_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg, lid);
  if (row >= params.rows) { return; }
  let base = row * params.n / 4u;
  let s = row_stats4(base);
  for (var j = 0u; j < params.n / 4u; j++) { y4[base + j] = (x4[base + j] - s.mean) * s.r; }
}

fn backward_at4(s: RowStats, gj: vec4<f32>, xj: vec4<f32>, mean_g: f32, mean_gx: f32) -> vec4<f32> {
  return s.r * (gj - mean_g - (xj - s.mean) * s.r * mean_gx);
}

@compute @workgroup_size(WORKGROUP)
fn layer_norm_backward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg, lid);
  if (row >= params.rows) { return; }
  let n = params.n;
  let base = row * n / 4u;
  let s = row_stats4(base);
  var sum_g = 0.0;
  var sum_gx = 0.0;
  for (var j = 0u; j < n / 4u; j++) {
    let gj = g4[base + j];
    sum_g = add4(sum_g, gj);
    sum_gx = add4(sum_gx, gj * (x4[base + j] - s.mean) * s.r);
  }
  let mean_g = sum_g / f32(n);
  let mean_gx = sum_gx / f32(n);
  for (var j = 0u; j < n / 4u; j++) {
    dx4[base + j] = backward_at4(s, g4[base + j], x4[base + j], mean_g, mean_gx);
  }
}

fn double_backward_row4(base: u32) -> DoubleBackwardRow {
  let n = params.n;
  let s = row_stats4(base);
  var sg = 0.0;
  var sgx = 0.0;
  var hx = 0.0;
  var hxx = 0.0;
  var shg = 0.0;
  var hx_backward = 0.0;
  for (var j = 0u; j < n / 4u; j++) {
    let normalized = (x4[base + j] - s.mean) * s.r;
    let gj = g4[base + j];
    let hj = h4[base + j];
    sg = add4(sg, gj);
    sgx = add4(sgx, gj * normalized);
    hx = add4(hx, hj);
    hxx = add4(hxx, hj * normalized);
    shg = add4(shg, hj * gj);
    hx_backward = add4(hx_backward, hj * (x4[base + j] - s.mean) * s.r);
  }
  let count = f32(n);
  let k = shg - (hx * sg + hxx * sgx) / count;
  return DoubleBackwardRow(s, -s.r * s.r / count, sgx, hxx, -(sgx * hx + hxx * sg) / count, k - 2.0 * sgx * hxx / count,
                           hx / count, hx_backward / count);
}

fn double_backward_at4(c: DoubleBackwardRow, xj: vec4<f32>, gj: vec4<f32>, hj: vec4<f32>) -> vec4<f32> {
  let normalized = (xj - c.s.mean) * c.s.r;
  return c.q * (c.sgx * hj + c.hxx * gj + c.shift + c.scale * normalized);
}

@compute @workgroup_size(WORKGROUP)
fn layer_norm_double_backward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                   @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg, lid);
  if (row >= params.rows) { return; }
  let base = row * params.n / 4u;
  let c = double_backward_row4(base);
  for (var j = 0u; j < params.n / 4u; j++) {
    out4[base + j] = double_backward_at4(c, x4[base + j], g4[base + j], h4[base + j]);
  }
}

@compute @workgroup_size(WORKGROUP)
fn layer_norm_double_backward_pair_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                        @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg, lid);
  if (row >= params.rows) { return; }
  let base = row * params.n / 4u;
  let c = double_backward_row4(base);
  for (var j = 0u; j < params.n / 4u; j++) {
    out4[base + j] = double_backward_at4(c, x4[base + j], g4[base + j], h4[base + j]);
    h_backward4[base + j] = backward_at4(c.s, h4[base + j], x4[base + j], c.mean_h, c.mean_hx);
  }
}
