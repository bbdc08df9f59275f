// Fused optimizer updates: each thread reads a parameter's values, their gradient and their state,
// and writes the new parameter and new state to fresh buffers (tensors are immutable). Every step
// rounds to float32 where the composed elementwise rule (src/harmonize/optimizers.ts) does.
// Workgroup: 256 threads, 2-D grid (flattened). No overrides.
// Entry points, one value per thread, or four (`_vec4`: the launcher's choice when the size is a
// multiple of 4; CPU adapters then load and store 16 bytes per lane, about twice as fast on lavapipe):
//   sgd, sgd_vec4:                   bindings 0 params, 1 p, 2 g (read), 3 out_p (write).
//                                    torch.optim.SGD without momentum.
//   sgd_momentum, sgd_momentum_vec4: bindings 0 params, 1 p, 2 g, 3 buf (read), 4 out_p, 5 out_buf
//                                    (write). On the first step (`first`) buf is not read (the
//                                    launcher binds g there) and starts as the gradient.
//   adamw, adamw_vec4:               bindings 0 params, 1 p, 2 g, 3 m, 4 v (read), 5 out_p, 6 out_m,
//                                    7 out_v (write). On the first step m and v start from zero.
// `params.size` counts what a thread takes: values, or vec4s.
#include "lib/flat_index.wgsl"

struct SgdParams {
  size: u32,
  lr: f32,
  weight_decay: f32,
  momentum: f32,
  // 1 − dampening
  undamped: f32,
  nesterov: u32,
  first: u32,
}

struct AdamWParams {
  size: u32,
  lr: f32,
  // 1 − lr · weight decay
  decay_factor: f32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  // 1 − β₁ᵗ and 1 − β₂ᵗ
  correction1: f32,
  correction2: f32,
  epsilon: f32,
  first: u32,
}

@group(0) @binding(0) var<uniform> sgd_params: SgdParams;
@group(0) @binding(0) var<uniform> adamw_params: AdamWParams;
@group(0) @binding(1) var<storage, read> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> state_a: array<f32>;
@group(0) @binding(4) var<storage, read> state_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> sgd_out_p: array<f32>;
@group(0) @binding(4) var<storage, read_write> momentum_out_p: array<f32>;
@group(0) @binding(5) var<storage, read_write> momentum_out_buf: array<f32>;
@group(0) @binding(5) var<storage, read_write> adamw_out_p: array<f32>;
@group(0) @binding(6) var<storage, read_write> adamw_out_m: array<f32>;
@group(0) @binding(7) var<storage, read_write> adamw_out_v: array<f32>;
// The same bindings seen as vec4s, for the `_vec4` entry points.
@group(0) @binding(1) var<storage, read> p4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> state_a4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> state_b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> sgd_out_p4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> momentum_out_p4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> momentum_out_buf4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> adamw_out_p4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> adamw_out_m4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> adamw_out_v4: array<vec4<f32>>;

// The update rules, lane by lane on four values (the scalar entry points use lane x).

// The gradient with coupled (L2) weight decay added, as torch.optim.SGD's weight_decay.
fn decayed(p: vec4<f32>, g: vec4<f32>) -> vec4<f32> {
  if (sgd_params.weight_decay == 0.0) { return g; }
  return g + p * sgd_params.weight_decay;
}

fn sgd_step(p: vec4<f32>, g: vec4<f32>) -> vec4<f32> {
  return p - decayed(p, g) * sgd_params.lr;
}

struct Updated { p: vec4<f32>, a: vec4<f32>, b: vec4<f32> }

// The new parameter and momentum buffer (a).
fn momentum_step(p: vec4<f32>, g: vec4<f32>, buffer: vec4<f32>) -> Updated {
  let d = decayed(p, g);
  var buf = d;
  if (sgd_params.first == 0u) { buf = buffer * sgd_params.momentum + d * sgd_params.undamped; }
  var step = buf;
  if (sgd_params.nesterov != 0u) { step = d + buf * sgd_params.momentum; }
  return Updated(p - step * sgd_params.lr, buf, vec4<f32>());
}

// The new parameter and moments m (a) and v (b).
fn adamw_step(p: vec4<f32>, g: vec4<f32>, m_in: vec4<f32>, v_in: vec4<f32>) -> Updated {
  var m = g * adamw_params.one_minus_beta1;
  var v = (g * g) * adamw_params.one_minus_beta2;
  if (adamw_params.first == 0u) {
    m = m_in * adamw_params.beta1 + m;
    v = v_in * adamw_params.beta2 + v;
  }
  let update = (m / adamw_params.correction1) / (sqrt(v / adamw_params.correction2) + adamw_params.epsilon);
  return Updated(p * adamw_params.decay_factor - update * adamw_params.lr, m, v);
}

@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= sgd_params.size) { return; }
  sgd_out_p[i] = sgd_step(vec4(p[i]), vec4(g[i])).x;
}

@compute @workgroup_size(256)
fn sgd_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= sgd_params.size) { return; }
  sgd_out_p4[i] = sgd_step(p4[i], g4[i]);
}

@compute @workgroup_size(256)
fn sgd_momentum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= sgd_params.size) { return; }
  let r = momentum_step(vec4(p[i]), vec4(g[i]), vec4(state_a[i]));
  momentum_out_p[i] = r.p.x;
  momentum_out_buf[i] = r.a.x;
}

@compute @workgroup_size(256)
fn sgd_momentum_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= sgd_params.size) { return; }
  let r = momentum_step(p4[i], g4[i], state_a4[i]);
  momentum_out_p4[i] = r.p;
  momentum_out_buf4[i] = r.a;
}

@compute @workgroup_size(256)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= adamw_params.size) { return; }
  let r = adamw_step(vec4(p[i]), vec4(g[i]), vec4(state_a[i]), vec4(state_b[i]));
  adamw_out_p[i] = r.p.x;
  adamw_out_m[i] = r.a.x;
  adamw_out_v[i] = r.b.x;
}

@compute @workgroup_size(256)
fn adamw_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= adamw_params.size) { return; }
  let r = adamw_step(p4[i], g4[i], state_a4[i], state_b4[i]);
  adamw_out_p4[i] = r.p;
  adamw_out_m4[i] = r.a;
  adamw_out_v4[i] = r.b;
}
