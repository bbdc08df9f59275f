// Fused optimizer updates, one thread per parameter element: each reads the parameter, its gradient
// and its state, and writes the new parameter and new state to fresh buffers (tensors are immutable).
// Every step rounds to float32 where the composed elementwise rule (src/harmonize/optimizers.ts) does.
// Workgroup: 256 threads, 2-D grid (flattened). No overrides.
// Entry points:
//   sgd:          bindings 0 params, 1 p, 2 g (read), 3 out_p (write). torch.optim.SGD without momentum.
//   sgd_momentum: bindings 0 params, 1 p, 2 g, 3 buf (read), 4 out_p, 5 out_buf (write). On the first
//                 step (`first`) buf is not read (the launcher binds g there) and starts as the gradient.
//   adamw:        bindings 0 params, 1 p, 2 g, 3 m, 4 v (read), 5 out_p, 6 out_m, 7 out_v (write).
//                 On the first step m and v are not read and start from zero.
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

@group(0) @binding(0) var<storage, read> sgd_params: SgdParams;
@group(0) @binding(0) var<storage, read> adamw_params: AdamWParams;
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

// The gradient with coupled (L2) weight decay added, as torch.optim.SGD's weight_decay.
fn decayed_gradient(i: u32) -> f32 {
  if (sgd_params.weight_decay == 0.0) { return g[i]; }
  return g[i] + p[i] * sgd_params.weight_decay;
}

@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= sgd_params.size) { return; }
  sgd_out_p[i] = p[i] - decayed_gradient(i) * sgd_params.lr;
}

@compute @workgroup_size(256)
fn sgd_momentum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= sgd_params.size) { return; }
  let d = decayed_gradient(i);
  var buf = d;
  if (sgd_params.first == 0u) { buf = state_a[i] * sgd_params.momentum + d * sgd_params.undamped; }
  var step = buf;
  if (sgd_params.nesterov != 0u) { step = d + buf * sgd_params.momentum; }
  momentum_out_buf[i] = buf;
  momentum_out_p[i] = p[i] - step * sgd_params.lr;
}

@compute @workgroup_size(256)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i >= adamw_params.size) { return; }
  let grad = g[i];
  var m = grad * adamw_params.one_minus_beta1;
  var v = (grad * grad) * adamw_params.one_minus_beta2;
  if (adamw_params.first == 0u) {
    m = state_a[i] * adamw_params.beta1 + m;
    v = state_b[i] * adamw_params.beta2 + v;
  }
  let update = (m / adamw_params.correction1) / (sqrt(v / adamw_params.correction2) + adamw_params.epsilon);
  adamw_out_m[i] = m;
  adamw_out_v[i] = v;
  adamw_out_p[i] = p[i] * adamw_params.decay_factor - update * adamw_params.lr;
}
