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
 * (src/ops/fused_relu.ts adds the same normalisations with a ReLU in their kernel.)
 */
import type { Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { ones, zeros } from "./creation.ts";
import { add, mul, neg, rsqrt, sub } from "./elementwise.ts";
import { reshape, slice } from "./movement.ts";
import { sum } from "./reduce.ts";

export const batchNormStats = (x: Tensor): Tensor => apply("batchNormStats", [x], {});
export const batchNormTrain = (x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor =>
  apply("batchNormTrain", [x, weight, bias], { eps });
export const batchNormEval = (x: Tensor, mean: Tensor, variance: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor =>
  apply("batchNormEval", [x, mean, variance, weight, bias], { eps });
export const batchNormTrainBackward = (x: Tensor, weight: Tensor, g: Tensor, eps: number): Tensor =>
  apply("batchNormTrainBackward", [x, weight, g], { eps });
export const batchNormAffineGrad = (x: Tensor, g: Tensor, eps: number): Tensor => apply("batchNormAffineGrad", [x, g], { eps });

/** Row `i` of a [2, C] tensor, as [C]. */
export function channelRow(t: Tensor, i: number): Tensor {
  const channels = t.shape[1];
  return reshape(slice(t, [i, 0], [1, channels]), [channels]);
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
 * its cotangent h (Hx = Σh, Hxx = Σh·x̂, Shg = Σh·g per channel):
 *   ∂g = γ·r·(h − Hx/n − x̂·Hxx/n)                    = batchNormTrainBackward(x, γ, h)
 *   ∂γ = r·(Shg − (Hx·Sg + Hxx·Sgx)/n)
 *   ∂x = through x̂ with G = −γ·r/n·(h·Sgx + g·Hxx), and through r with R = γ·(Shg − (Hx·Sg + Hxx·Sgx)/n):
 *        r·(G − ΣG/n − x̂·Σ(G·x̂)/n) − R·r²/n·x̂   = batchNormTrainBackward(x, 1, G) + batchNormTrain(x, −R·r²/n, 0)
 */
export function batchNormTrainBackwardVjp(h: Tensor, [x, weight, g]: Tensor[], eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  const n = valuesPerChannel(x);
  const channels = x.shape[1];
  let common: Tensor | null = null;
  let r: Tensor | null = null;
  let gSums: Tensor | null = null;
  let hSums: Tensor | null = null;
  if (wants[0] || wants[1]) {
    r = rsqrt(add(channelRow(batchNormStats(x), 1), eps));
    gSums = batchNormAffineGrad(x, g, eps);
    hSums = batchNormAffineGrad(x, h, eps);
    const cross = add(mul(channelRow(hSums, 1), channelRow(gSums, 1)), mul(channelRow(hSums, 0), channelRow(gSums, 0)));
    common = sub(channelSum(mul(h, g)), mul(cross, 1 / n));
  }
  return [
    when(wants[0], () => {
      const a = mul(mul(weight, r!), -1 / n);
      const G = add(mul(h, perChannel(mul(a, channelRow(gSums!, 0)), x)), mul(g, perChannel(mul(a, channelRow(hSums!, 0)), x)));
      const throughR = mul(mul(weight, common!), mul(mul(r!, r!), -1 / n));
      return add(batchNormTrainBackward(x, ones([channels]), G, eps), batchNormTrain(x, throughR, zeros([channels]), eps));
    }),
    when(wants[1], () => mul(r!, common!)),
    when(wants[2], () => batchNormTrainBackward(x, weight, h, eps)),
  ];
}

/** batchNormAffineGrad's gradient for its cotangent [k_γ; k_β]: ∂x = batchNormTrainBackward(x, k_γ, g), ∂g = k_γ·x̂ + k_β. */
export function batchNormAffineGradVjp(h: Tensor, [x, g]: Tensor[], eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  return [
    when(wants[0], () => batchNormTrainBackward(x, channelRow(h, 0), g, eps)),
    when(wants[1], () => batchNormTrain(x, channelRow(h, 0), channelRow(h, 1), eps)),
  ];
}
