// Batch normalisation over every axis but the channel axis 1 of x viewed as [N, C, P]
// (P = H·W, or 1 for [N, C]); n = N·P values per channel.
// Per-channel sums are done in two passes without workgroup barriers (which CPU adapters pay
// dearly for): `*_partial` gives each of K threads per channel every K-th value of that channel
// (adjacent threads read adjacent addresses), `*_combine` merges a channel's K partials in one
// thread. The launcher keeps n/K and K below 32768: lavapipe ends an invocation's loops after
// 65535 iterations in all.
// The elementwise passes (normalize, backward_input, mix) give each row of P values (one sample,
// one channel) to `lanes` adjacent threads, each taking every lanes-th value: a thread loads its
// channel's values once, not per element (per-lane gathers cost CPU adapters more than the
// arithmetic), and adjacent threads still read adjacent addresses; P/lanes stays below 32768.
// Entry points (bindings after 0 = params):
//   stats_partial:  1 x, 2 partials [C·K·3] (write)          count, mean, M2 of each thread's values
//   stats_combine:  1 partials, 2 stats [2·C] (write)         mean, biased variance (Chan's merge)
//   grad_partial:   1 x, 2 g, 3 stats, 4 partials [C·K·2]     Σg, Σg·(x − mean)
//   grad_partial_vec4, cross_partial_vec4, backward_input_vec4, mix_vec4: the same four values at a
//                   time where planes hold a multiple of 4 values (params.plane then counts vec4s)
//   grad_combine:   1 partials, 2 stats, 3 sums [2·C] (write) Σg·x̂, Σg  (x̂ = (x − mean)·rsqrt(var + eps))
//   normalize:      1 x, 2 mean, 3 variance (from var_offset), 4 weight, 5 bias, 6 y
//                   y = (x − mean)·rsqrt(var + eps)·weight + bias; override RELU=true: max(y, 0)
//   backward_input: 1 x, 2 g, 3 stats, 4 sums, 5 weight, 6 dx
//                   dx = weight·r·(g − Σg/n − x̂·Σg·x̂/n), r = rsqrt(var + eps)
//   cross_partial:  1 x, 2 g, 3 h, 4 stats, 5 partials [C·K·5]  Σg·(x − mean), Σg, Σh·(x − mean), Σh, Σh·g
//   cross_combine:  1 partials, 2 stats, 3 sums [5·C] (write)    Σg·x̂, Σg, Σh·x̂, Σh, Σh·g
//   mix:            1 x, 2 stats, 3 coefficients [rows·C], 4 u, 5 v (read when TERMS = 2), 6 out
//                   out = c₀·x̂ + c₁ + c₂·u (+ c₃·v) with per-channel coefficients c, the rows of
//                   the coefficients from first_row on
//   mix_coefficients: 1 sums [5·C] (cross_combine's), 2 stats, 3 weight, 4 coefficients [8·C] (write)
//                   the double backward's per-channel coefficients (batchNormMixCoefficients in
//                   src/ops/batch_norm_primitives.ts); one thread per channel, n in `batch` (plane 1)

override RELU: bool = false;
override TERMS: u32 = 1u;

struct Params {
  batch: u32,
  channels: u32,
  plane: u32,
  chunks: u32,
  var_offset: u32,
  eps: f32,
  lanes: u32,
  first_row: u32,
}
@group(0) @binding(0) var<uniform> params: Params;

fn thread_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * 256u + lid;
}

fn count() -> u32 {
  return params.batch * params.plane;
}

// A partial pass's thread visits values e = k, k + K, … of its channel as (sample, position in the
// plane), stepping without a division per value (CPU adapters divide one SIMD lane at a time).
fn walk_start(e: u32) -> vec2<u32> {
  let b = e / params.plane;
  return vec2<u32>(b, e - b * params.plane);
}

// The next value: `step` is walk_start(K).
fn walk_step(at: vec2<u32>, step: vec2<u32>) -> vec2<u32> {
  let next = at + step;
  return select(next, vec2<u32>(next.x + 1u, next.y - params.plane), next.y >= params.plane);
}

// Flat index of the value at `at` in channel c.
fn walk_index(c: u32, at: vec2<u32>) -> u32 {
  return (at.x * params.channels + c) * params.plane + at.y;
}

// A thread of an elementwise pass: where its row starts, its channel, its first value in the row.
struct RowLane {
  start: u32,
  channel: u32,
  lane: u32,
}

fn row_lane(t: u32) -> RowLane {
  let row = t / params.lanes;
  return RowLane(row * params.plane, row % params.channels, t - row * params.lanes);
}

fn row_threads() -> u32 {
  return params.batch * params.channels * params.lanes;
}

fn inverse_std(variance: f32) -> f32 {
  return inverseSqrt(variance + params.eps);
}

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> stat_partials: array<f32>;

@compute @workgroup_size(256)
fn stats_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.channels * params.chunks) { return; }
  let c = t / params.chunks;
  let k = t - c * params.chunks;
  let n = count();
  let step = walk_start(params.chunks);
  var total = 0.0;
  var seen = 0u;
  var at = walk_start(k);
  for (var e = k; e < n; e += params.chunks) {
    total += x[walk_index(c, at)];
    seen++;
    at = walk_step(at, step);
  }
  let mean = select(0.0, total / f32(seen), seen > 0u);
  var m2 = 0.0;
  at = walk_start(k);
  for (var e = k; e < n; e += params.chunks) {
    let d = x[walk_index(c, at)] - mean;
    m2 += d * d;
    at = walk_step(at, step);
  }
  stat_partials[3u * t] = f32(seen);
  stat_partials[3u * t + 1u] = mean;
  stat_partials[3u * t + 2u] = m2;
}

@group(0) @binding(1) var<storage, read> partials_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats_out: array<f32>;

@compute @workgroup_size(256)
fn stats_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let c = thread_index(wid, nwg, lid);
  if (c >= params.channels) { return; }
  var seen = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var k = 0u; k < params.chunks; k++) {
    let base = 3u * (c * params.chunks + k);
    let other = partials_in[base];
    if (other == 0.0) { continue; }
    let merged = seen + other;
    let delta = partials_in[base + 1u] - mean;
    mean += delta * (other / merged);
    m2 += partials_in[base + 2u] + delta * delta * (seen * other / merged);
    seen = merged;
  }
  stats_out[c] = mean;
  stats_out[params.channels + c] = m2 / seen;
}

@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_partials: array<f32>;

@compute @workgroup_size(256)
fn grad_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.channels * params.chunks) { return; }
  let c = t / params.chunks;
  let k = t - c * params.chunks;
  let mean = stats[c];
  var sum_g = 0.0;
  var sum_gc = 0.0;
  let step = walk_start(params.chunks);
  var at = walk_start(k);
  for (var e = k; e < count(); e += params.chunks) {
    let i = walk_index(c, at);
    sum_g += g[i];
    sum_gc += g[i] * (x[i] - mean);
    at = walk_step(at, step);
  }
  grad_partials[2u * t] = sum_g;
  grad_partials[2u * t + 1u] = sum_gc;
}

// The vec4 passes' bindings (mix_vec4 reads x4 too).
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g4: array<vec4<f32>>;

// The sum of a vec4's lanes.
fn lane_sum(v: vec4<f32>) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

// grad_partial four values at a time where planes hold a multiple of 4 values (params.plane
// counts vec4s): each thread walks vec4s of its channel, with a sum per lane.
@compute @workgroup_size(256)
fn grad_partial_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.channels * params.chunks) { return; }
  let c = t / params.chunks;
  let k = t - c * params.chunks;
  let mean = stats[c];
  var sum_g = vec4<f32>(0.0);
  var sum_gc = vec4<f32>(0.0);
  let step = walk_start(params.chunks);
  var at = walk_start(k);
  for (var e = k; e < count(); e += params.chunks) {
    let i = walk_index(c, at);
    sum_g += g4[i];
    sum_gc += g4[i] * (x4[i] - mean);
    at = walk_step(at, step);
  }
  grad_partials[2u * t] = lane_sum(sum_g);
  grad_partials[2u * t + 1u] = lane_sum(sum_gc);
}

@group(0) @binding(2) var<storage, read> combine_stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> sums_out: array<f32>;

@compute @workgroup_size(256)
fn grad_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let c = thread_index(wid, nwg, lid);
  if (c >= params.channels) { return; }
  var sum_g = 0.0;
  var sum_gc = 0.0;
  for (var k = 0u; k < params.chunks; k++) {
    let base = 2u * (c * params.chunks + k);
    sum_g += partials_in[base];
    sum_gc += partials_in[base + 1u];
  }
  sums_out[c] = sum_gc * inverse_std(combine_stats[params.channels + c]);
  sums_out[params.channels + c] = sum_g;
}

@group(0) @binding(2) var<storage, read> mean_in: array<f32>;
@group(0) @binding(3) var<storage, read> variance_in: array<f32>;
@group(0) @binding(4) var<storage, read> weight_in: array<f32>;
@group(0) @binding(5) var<storage, read> bias_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= row_threads()) { return; }
  let at = row_lane(t);
  let c = at.channel;
  let mean = mean_in[c];
  let r = inverse_std(variance_in[params.var_offset + c]);
  let weight = weight_in[c];
  let bias = bias_in[c];
  for (var p = at.lane; p < params.plane; p += params.lanes) {
    let i = at.start + p;
    let normalized = (x[i] - mean) * r * weight + bias;
    y[i] = select(normalized, max(normalized, 0.0), RELU);
  }
}

@group(0) @binding(4) var<storage, read> sums: array<f32>;
@group(0) @binding(5) var<storage, read> backward_weight: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

@group(0) @binding(6) var<storage, read_write> dx4: array<vec4<f32>>;

// A backward_input thread's row and its channel's factors: dx = scale·(g − mean_g − x̂·sum_gx/n).
struct BackwardRow {
  at: RowLane,
  mean: f32,
  r: f32,
  scale: f32,
  mean_g: f32,
  sum_gx: f32,
}

fn backward_row(t: u32, n: f32) -> BackwardRow {
  let at = row_lane(t);
  let c = at.channel;
  let r = inverse_std(stats[params.channels + c]);
  return BackwardRow(at, stats[c], r, backward_weight[c] * r, sums[params.channels + c] / n, sums[c]);
}

@compute @workgroup_size(256)
fn backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= row_threads()) { return; }
  let n = f32(count());
  let row = backward_row(t, n);
  for (var p = row.at.lane; p < params.plane; p += params.lanes) {
    let i = row.at.start + p;
    let normalized = (x[i] - row.mean) * row.r;
    dx[i] = row.scale * (g[i] - row.mean_g - normalized * row.sum_gx / n);
  }
}

// backward_input four values at a time (params.plane counts vec4s): the same rule per lane, the same bits.
@compute @workgroup_size(256)
fn backward_input_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= row_threads()) { return; }
  let n = f32(4u * count());
  let row = backward_row(t, n);
  for (var p = row.at.lane; p < params.plane; p += params.lanes) {
    let i = row.at.start + p;
    let normalized = (x4[i] - row.mean) * row.r;
    dx4[i] = row.scale * (g4[i] - row.mean_g - normalized * row.sum_gx / n);
  }
}

@group(0) @binding(3) var<storage, read> cross_h: array<f32>;
@group(0) @binding(4) var<storage, read> cross_stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> cross_partials: array<f32>;

@compute @workgroup_size(256)
fn cross_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.channels * params.chunks) { return; }
  let c = t / params.chunks;
  let k = t - c * params.chunks;
  let mean = cross_stats[c];
  var sum_g = 0.0;
  var sum_gc = 0.0;
  var sum_h = 0.0;
  var sum_hc = 0.0;
  var sum_hg = 0.0;
  let step = walk_start(params.chunks);
  var at = walk_start(k);
  for (var e = k; e < count(); e += params.chunks) {
    let i = walk_index(c, at);
    at = walk_step(at, step);
    let centred = x[i] - mean;
    let gi = g[i];
    let hi = cross_h[i];
    sum_g += gi;
    sum_gc += gi * centred;
    sum_h += hi;
    sum_hc += hi * centred;
    sum_hg += hi * gi;
  }
  let base = 5u * t;
  cross_partials[base] = sum_gc;
  cross_partials[base + 1u] = sum_g;
  cross_partials[base + 2u] = sum_hc;
  cross_partials[base + 3u] = sum_h;
  cross_partials[base + 4u] = sum_hg;
}

@group(0) @binding(3) var<storage, read> cross_h4: array<vec4<f32>>;

// cross_partial four values at a time (as grad_partial_vec4).
@compute @workgroup_size(256)
fn cross_partial_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.channels * params.chunks) { return; }
  let c = t / params.chunks;
  let k = t - c * params.chunks;
  let mean = cross_stats[c];
  var sum_g = vec4<f32>(0.0);
  var sum_gc = vec4<f32>(0.0);
  var sum_h = vec4<f32>(0.0);
  var sum_hc = vec4<f32>(0.0);
  var sum_hg = vec4<f32>(0.0);
  let step = walk_start(params.chunks);
  var at = walk_start(k);
  for (var e = k; e < count(); e += params.chunks) {
    let i = walk_index(c, at);
    at = walk_step(at, step);
    let centred = x4[i] - mean;
    let gi = g4[i];
    let hi = cross_h4[i];
    sum_g += gi;
    sum_gc += gi * centred;
    sum_h += hi;
    sum_hc += hi * centred;
    sum_hg += hi * gi;
  }
  let base = 5u * t;
  cross_partials[base] = lane_sum(sum_gc);
  cross_partials[base + 1u] = lane_sum(sum_g);
  cross_partials[base + 2u] = lane_sum(sum_hc);
  cross_partials[base + 3u] = lane_sum(sum_h);
  cross_partials[base + 4u] = lane_sum(sum_hg);
}

@compute @workgroup_size(256)
fn cross_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let c = thread_index(wid, nwg, lid);
  if (c >= params.channels) { return; }
  var totals = array<f32, 5>(0.0, 0.0, 0.0, 0.0, 0.0);
  for (var k = 0u; k < params.chunks; k++) {
    let base = 5u * (c * params.chunks + k);
    for (var j = 0u; j < 5u; j++) {
      totals[j] += partials_in[base + j];
    }
  }
  // rows 0 and 2 were summed against x − mean: scale them to x̂
  let r = inverse_std(combine_stats[params.channels + c]);
  for (var j = 0u; j < 5u; j++) {
    sums_out[j * params.channels + c] = select(totals[j], totals[j] * r, j == 0u || j == 2u);
  }
}

@group(0) @binding(2) var<storage, read> mix_stats: array<f32>;
@group(0) @binding(3) var<storage, read> coefficients: array<f32>;
@group(0) @binding(4) var<storage, read> mix_u: array<f32>;
@group(0) @binding(5) var<storage, read> mix_v: array<f32>;
@group(0) @binding(6) var<storage, read_write> mixed: array<f32>;
// The same bindings seen as vec4s, for mix_vec4 (x4 above).
@group(0) @binding(4) var<storage, read> mix_u4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> mix_v4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> mixed4: array<vec4<f32>>;

// A mix thread's row and its channel's mean, r and coefficients c₀…c₃ (c₃ = 0 for one term).
struct MixRow {
  at: RowLane,
  mean: f32,
  r: f32,
  c: vec4<f32>,
}

fn mix_row(t: u32) -> MixRow {
  let at = row_lane(t);
  let channels = params.channels;
  let ch = at.channel;
  let first = params.first_row * channels + ch;
  var c = vec4<f32>(coefficients[first], coefficients[first + channels], coefficients[first + 2u * channels], 0.0);
  if (TERMS == 2u) {
    c.w = coefficients[first + 3u * channels];
  }
  return MixRow(at, mix_stats[ch], inverse_std(mix_stats[channels + ch]), c);
}

@compute @workgroup_size(256)
fn mix(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= row_threads()) { return; }
  let row = mix_row(t);
  for (var p = row.at.lane; p < params.plane; p += params.lanes) {
    let i = row.at.start + p;
    var value = row.c.x * ((x[i] - row.mean) * row.r) + row.c.y + row.c.z * mix_u[i];
    if (TERMS == 2u) {
      value += row.c.w * mix_v[i];
    }
    mixed[i] = value;
  }
}

// mix four values at a time where planes hold a multiple of 4 values (params.plane counts vec4s):
// the same rule on each lane of a vec4, so the same bits as mix.
@compute @workgroup_size(256)
fn mix_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= row_threads()) { return; }
  let row = mix_row(t);
  for (var p = row.at.lane; p < params.plane; p += params.lanes) {
    let i = row.at.start + p;
    var value = row.c.x * ((x4[i] - row.mean) * row.r) + row.c.y + row.c.z * mix_u4[i];
    if (TERMS == 2u) {
      value += row.c.w * mix_v4[i];
    }
    mixed4[i] = value;
  }
}

@group(0) @binding(1) var<storage, read> coefficient_sums: array<f32>;
@group(0) @binding(2) var<storage, read> coefficient_stats: array<f32>;
@group(0) @binding(3) var<storage, read> coefficient_weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> coefficients_out: array<f32>;

// The same products, in the same order, as the public ops they replace (a higher order
// differentiates those): with m = −1/n, K = Σh·g + m·(Σh·Σg + Σh·x̂·Σg·x̂), q = m·γ·r²,
// rows 0–3 weigh x̂, 1, h, g in ∂x; rows 4–6 weigh x̂, 1, h in ∂g; row 7 is ∂γ = r·K.
@compute @workgroup_size(256)
fn mix_coefficients(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let c = thread_index(wid, nwg, lid);
  let channels = params.channels;
  if (c >= channels) { return; }
  let sgx = coefficient_sums[c];
  let sg = coefficient_sums[channels + c];
  let hxx = coefficient_sums[2u * channels + c];
  let hx = coefficient_sums[3u * channels + c];
  let shg = coefficient_sums[4u * channels + c];
  let weight = coefficient_weight[c];
  let r = inverse_std(coefficient_stats[channels + c]);
  let m = -1.0 / f32(count());
  let k = shg + (hx * sg + hxx * sgx) * m;
  let q = weight * (r * r) * m;
  let cross = sgx * hxx * m;
  let gr = weight * r;
  let grm = gr * m;
  let rows = array<f32, 8>(
    q * (k + (cross + cross)), q * (sgx * hx + hxx * sg) * m, q * sgx, q * hxx,
    grm * hxx, grm * hx, gr, r * k,
  );
  for (var j = 0u; j < 8u; j++) {
    coefficients_out[j * channels + c] = rows[j];
  }
}
