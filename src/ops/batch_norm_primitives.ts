/**
 * The fused batch-norm primitives (kernels in shaders/batch_norm.wgsl) and the gradients of their
 * gradients, written with public ops so that every order of derivative exists. x is [N, C, ...];
 * per-channel values are [C]; n is the number of values per channel; x̂ = (x − μ)·r with
 * r = rsqrt(σ² + eps) and the batch's own mean μ and biased variance σ².
 *
 *   batchNormStats(x)                    → [2, C]: μ, σ²
 *   batchNormTrain(x, γ, β)              → γ·x̂ + β
 *   batchNormEval(x, mean, var, γ, β)    → (x − mean)·rsqrt(var + eps)·γ + β
 *   batchNormTrainBackward(x, γ, g)      → ∂⟨g, batchNormTrain⟩/∂x = γ·r·(g − Σg/n − x̂·Σ(g·x̂)/n)
 *   batchNormAffineGrad(x, g)            → [2, C]: Σ g·x̂, Σ g  (∂/∂γ and ∂/∂β)
 *   batchNormBackwardSums(x, g, h)       → [5, C]: Σ g·x̂, Σ g, Σ h·x̂, Σ h, Σ h·g  (one pass)
 *   batchNormMix(x, c, [u, v])           → c₀·x̂ + c₁ + c₂·u (+ c₃·v) with per-channel rows of c
 * The last two make batchNormTrainBackward's gradient two passes over the tensors: its sums, then
 * one mix per cotangent. x's statistics are computed once and kept with x (kernels/batch_norm.ts).
 * (src/ops/fused_relu.ts adds the same normalisations with a ReLU in their kernel.)
 */
import type { Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { ones, scalar } from "./creation.ts";
import { add, mul, neg, rsqrt, sub } from "./elementwise.ts";
import { concat, reshape, slice } from "./movement.ts";
import { sum } from "./reduce.ts";

export const batchNormStats = (x: Tensor): Tensor => apply("batchNormStats", [x], {});
export const batchNormTrain = (x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor =>
  apply("batchNormTrain", [x, weight, bias], { eps });
export const batchNormEval = (x: Tensor, mean: Tensor, variance: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor =>
  apply("batchNormEval", [x, mean, variance, weight, bias], { eps });
export const batchNormTrainBackward = (x: Tensor, weight: Tensor, g: Tensor, eps: number): Tensor =>
  apply("batchNormTrainBackward", [x, weight, g], { eps });
export const batchNormAffineGrad = (x: Tensor, g: Tensor, eps: number): Tensor => apply("batchNormAffineGrad", [x, g], { eps });
export const batchNormBackwardSums = (x: Tensor, g: Tensor, h: Tensor, eps: number): Tensor =>
  apply("batchNormBackwardSums", [x, g, h], { eps });
export const batchNormMix = (x: Tensor, coefficients: Tensor, terms: readonly Tensor[], eps: number): Tensor =>
  apply("batchNormMix", [x, coefficients, ...terms], { eps });

/** Row `i` of a [2, C] tensor, as [C]. */
export function channelRow(t: Tensor, i: number): Tensor {
  const channels = t.shape[1];
  return reshape(slice(t, [i, 0], [1, channels]), [channels]);
}

/** [C] tensors stacked as the rows of [k, C]. */
function rows(...vectors: Tensor[]): Tensor {
  return concat(vectors.map((v) => reshape(v, [1, v.shape[0]])), 0);
}

/** A [C] tensor shaped to broadcast against x [N, C, ...]. */
function perChannel(v: Tensor, x: Tensor): Tensor {
  return reshape(v, [1, x.shape[1], ...x.shape.slice(2).map(() => 1)]);
}

function channelSum(t: Tensor): Tensor {
  return reshape(sum(t, t.shape.map((_, i) => i).filter((i) => i !== 1)), [t.shape[1]]);
}

const valuesPerChannel = (x: Tensor) => x.size / x.shape[1];
const when = (wanted: boolean, make: () => Tensor): Tensor | null => (wanted ? make() : null);

/** batchNormTrain's gradient: the fused backward kernel for x, the per-channel sums for γ and β. */
export function batchNormTrainVjp(g: Tensor, x: Tensor, weight: Tensor, eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  const sums = wants[1] || wants[2] ? batchNormAffineGrad(x, g, eps) : null;
  return [
    when(wants[0], () => batchNormTrainBackward(x, weight, g, eps)),
    when(wants[1], () => channelRow(sums!, 0)),
    when(wants[2], () => channelRow(sums!, 1)),
  ];
}

/** batchNormStats' gradient: ∂x = h_μ/n + 2·h_σ²·(x − μ)/n. */
export function batchNormStatsVjp(h: Tensor, x: Tensor, stats: Tensor): Tensor {
  const n = valuesPerChannel(x);
  const centred = sub(x, perChannel(channelRow(stats, 0), x));
  return add(mul(centred, perChannel(mul(channelRow(h, 1), 2 / n), x)), perChannel(mul(channelRow(h, 0), 1 / n), x));
}

/** batchNormEval's gradient; each wanted input's cotangent (mean, var, γ, β are [C]). */
export function batchNormEvalVjp(g: Tensor, [x, mean, variance, weight]: Tensor[], eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  const r = rsqrt(add(variance, eps));
  const scale = mul(weight, r);
  const sumG = wants[1] || wants[4] ? channelSum(g) : null;
  const sumGc = wants[2] || wants[3] ? channelSum(mul(g, sub(x, perChannel(mean, x)))) : null;
  return [
    when(wants[0], () => mul(g, perChannel(scale, x))),
    when(wants[1], () => neg(mul(sumG!, scale))),
    when(wants[2], () => mul(sumGc!, mul(mul(scale, mul(r, r)), -0.5))),
    when(wants[3], () => mul(sumGc!, r)),
    when(wants[4], () => sumG!),
  ];
}

/**
 * batchNormTrainBackward's gradient. With dx = γ·r/n·(n·g − Sg − x̂·Sgx), Sg = Σg, Sgx = Σg·x̂, and
 * its cotangent h (Hx = Σh, Hxx = Σh·x̂, Shg = Σh·g per channel, all from one batchNormBackwardSums):
 *   ∂g = γ·r·(h − Hx/n − x̂·Hxx/n)
 *   ∂γ = r·K,  K = Shg − (Hx·Sg + Hxx·Sgx)/n
 *   ∂x = through x̂ with G = −γ·r/n·(h·Sgx + g·Hxx), and through r with R = γ·K:
 *        r·(G − ΣG/n − x̂·Σ(G·x̂)/n) − R·r²/n·x̂, where ΣG and Σ(G·x̂) follow from the sums, so with q = −γ·r²/n
 *        = q·(Sgx·h + Hxx·g − (Sgx·Hx + Hxx·Sg)/n + (K − 2·Sgx·Hxx/n)·x̂)
 * ∂g and ∂x are one batchNormMix each.
 */
export function batchNormTrainBackwardVjp(h: Tensor, [x, weight, g]: Tensor[], eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  if (!wants[0] && !wants[1]) return [null, null, when(wants[2], () => batchNormTrainBackward(x, weight, h, eps))];
  const n = valuesPerChannel(x);
  const sums = batchNormBackwardSums(x, g, h, eps);
  const [sgx, sg, hxx, hx, shg] = [0, 1, 2, 3, 4].map((i) => channelRow(sums, i));
  const r = rsqrt(add(channelRow(batchNormStats(x), 1), eps));
  // −1/n as one tensor for every product below (a number would make a scalar per use)
  const m = scalar(-1 / n);
  const k = add(shg, mul(add(mul(hx, sg), mul(hxx, sgx)), m));
  return [
    when(wants[0], () => {
      const q = mul(mul(weight, mul(r, r)), m);
      const cross = mul(mul(sgx, hxx), m);
      const scale = mul(q, add(k, add(cross, cross)));
      const shift = mul(mul(q, add(mul(sgx, hx), mul(hxx, sg))), m);
      return batchNormMix(x, rows(scale, shift, mul(q, sgx), mul(q, hxx)), [h, g], eps);
    }),
    when(wants[1], () => mul(r, k)),
    when(wants[2], () => {
      const gr = mul(weight, r);
      const grm = mul(gr, m);
      return batchNormMix(x, rows(mul(grm, hxx), mul(grm, hx), gr), [h], eps);
    }),
  ];
}

/**
 * batchNormBackwardSums' gradient for its cotangent k (rows k₀…k₄ weigh Σg·x̂, Σg, Σh·x̂, Σh, Σh·g):
 *   ∂x = through x̂ of Σ(k₀·g + k₂·h)·x̂ = batchNormTrainBackward(x, 1, k₀·g + k₂·h)
 *   ∂g = k₀·x̂ + k₁ + k₄·h,  ∂h = k₂·x̂ + k₃ + k₄·g
 */
export function batchNormBackwardSumsVjp(k: Tensor, [x, g, h]: Tensor[], eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  const [k0, k1, k2, k3, k4] = [0, 1, 2, 3, 4].map((i) => channelRow(k, i));
  return [
    when(wants[0], () => {
      const weighted = add(mul(g, perChannel(k0, x)), mul(h, perChannel(k2, x)));
      return batchNormTrainBackward(x, ones([x.shape[1]]), weighted, eps);
    }),
    when(wants[1], () => batchNormMix(x, rows(k0, k1, k4), [h], eps)),
    when(wants[2], () => batchNormMix(x, rows(k2, k3, k4), [g], eps)),
  ];
}

/**
 * batchNormMix's gradient for its cotangent k: ∂x = batchNormTrainBackward(x, c₀, k) (x only enters
 * through x̂), ∂c = [Σk·x̂; Σk; Σk·termᵢ …], ∂termᵢ = c₂₊ᵢ·k.
 */
export function batchNormMixVjp(
  k: Tensor, x: Tensor, coefficients: Tensor, terms: readonly Tensor[], eps: number, wants: readonly boolean[],
): (Tensor | null)[] {
  return [
    when(wants[0], () => batchNormTrainBackward(x, channelRow(coefficients, 0), k, eps)),
    when(wants[1], () => concat([batchNormAffineGrad(x, k, eps), rows(...terms.map((t) => channelSum(mul(k, t))))], 0)),
    ...terms.map((_, i) => when(wants[2 + i], () => mul(k, perChannel(channelRow(coefficients, 2 + i), x)))),
  ];
}

/** batchNormAffineGrad's gradient for its cotangent [k_γ; k_β]: ∂x = batchNormTrainBackward(x, k_γ, g), ∂g = k_γ·x̂ + k_β. */
export function batchNormAffineGradVjp(h: Tensor, [x, g]: Tensor[], eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  return [
    when(wants[0], () => batchNormTrainBackward(x, channelRow(h, 0), g, eps)),
    when(wants[1], () => batchNormTrain(x, channelRow(h, 0), channelRow(h, 1), eps)),
  ];
}
