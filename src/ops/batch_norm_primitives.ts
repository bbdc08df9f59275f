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
 *   batchNormMixCoefficients(sums, stats, γ) → [8, C]: from those five sums, the mixes' coefficients and ∂γ
 *   batchNormMix(x, c, [u, v], first)    → c₀·x̂ + c₁ + c₂·u (+ c₃·v) with per-channel rows of c from `first`
 * The last three make batchNormTrainBackward's gradient two passes over the tensors: its sums, then
 * one mix per cotangent, with one [C]-sized kernel between them. x's statistics are computed once
 * and kept with x (kernels/batch_norm.ts).
 * (src/ops/fused_relu.ts adds the same normalisations with a ReLU in their kernel.)
 */
import type { Tensor } from "../tensor.ts";
import { apply } from "./apply.ts";
import { ones, scalar } from "./creation.ts";
import { add, mul, neg, rsqrt, sub } from "./elementwise.ts";
import { concat, pad, reshape, slice } from "./movement.ts";
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
export const batchNormMix = (x: Tensor, coefficients: Tensor, terms: readonly Tensor[], eps: number, first = 0): Tensor =>
  apply("batchNormMix", [x, coefficients, ...terms], { eps, first });
export const batchNormMixCoefficients = (sums: Tensor, stats: Tensor, weight: Tensor, eps: number, count: number): Tensor =>
  apply("batchNormMixCoefficients", [sums, stats, weight], { eps, count });

/** Row `i` of a [k, C] tensor, as [C]. */
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
 * batchNormMixCoefficients computes every per-channel factor in one kernel: rows 0–3 are ∂x's
 * coefficients of x̂, 1, h and g, rows 4–6 ∂g's of x̂, 1 and h, row 7 is ∂γ. ∂g and ∂x are one
 * batchNormMix each.
 */
export function batchNormTrainBackwardVjp(h: Tensor, [x, weight, g]: Tensor[], eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  if (!wants[0] && !wants[1]) return [null, null, when(wants[2], () => batchNormTrainBackward(x, weight, h, eps))];
  const sums = batchNormBackwardSums(x, g, h, eps);
  const coefficients = batchNormMixCoefficients(sums, batchNormStats(x), weight, eps, valuesPerChannel(x));
  return [
    when(wants[0], () => batchNormMix(x, coefficients, [h, g], eps, 0)),
    when(wants[1], () => channelRow(coefficients, 7)),
    when(wants[2], () => batchNormMix(x, coefficients, [h], eps, 4)),
  ];
}

/**
 * batchNormMixCoefficients' gradient for its cotangent k (rows k₀…k₇), the chain rule through the
 * formulas above. With a, b, c, d, e the sums' rows (Sgx, Sg, Hxx, Hx, Shg), m = −1/n, s = γ·r,
 * X = m·a·c, q = m·γ·r², K = e + m·(d·b + c·a), the rows are q·(K + 2X), m·q·(a·d + c·b), q·a,
 * q·c, m·s·c, m·s·d, s, r·K, so
 *   ∂K = k₀·q + k₇·r,  ∂X = 2·k₀·q,  ∂q = k₀·(K + 2X) + k₁·m·(a·d + c·b) + k₂·a + k₃·c,  ∂s = m·(k₄·c + k₅·d) + k₆
 *   ∂a = m·c·(∂X + ∂K) + m·q·k₁·d + q·k₂      ∂b = m·d·∂K + m·q·k₁·c      ∂e = ∂K
 *   ∂c = m·a·(∂X + ∂K) + m·q·k₁·b + q·k₃ + m·s·k₄      ∂d = m·b·∂K + m·q·k₁·a + m·s·k₅
 *   ∂γ = ∂q·m·r² + ∂s·r,  ∂σ² = −r³/2·(∂q·2m·γ·r + ∂s·γ + k₇·K),  ∂μ = 0
 */
export function batchNormMixCoefficientsVjp(
  k: Tensor, [sums, stats, weight]: Tensor[], eps: number, count: number, wants: readonly boolean[],
): (Tensor | null)[] {
  const [a, b, c, d, e] = [0, 1, 2, 3, 4].map((i) => channelRow(sums, i));
  const [k0, k1, k2, k3, k4, k5, k6, k7] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => channelRow(k, i));
  const m = scalar(-1 / count);
  const r = rsqrt(add(channelRow(stats, 1), eps));
  const q = mul(mul(weight, mul(r, r)), m);
  const s = mul(weight, r);
  const cross = mul(mul(a, c), m);
  const kK = add(e, mul(add(mul(d, b), mul(c, a)), m));
  const dK = add(mul(k0, q), mul(k7, r));
  const dq = add(
    add(mul(k0, add(kK, add(cross, cross))), mul(mul(k1, m), add(mul(a, d), mul(c, b)))),
    add(mul(k2, a), mul(k3, c)),
  );
  const ds = add(mul(add(mul(k4, c), mul(k5, d)), m), k6);
  const throughX = mul(add(mul(mul(k0, q), 2), dK), m);
  const mqk1 = mul(mul(k1, q), m);
  const ms = mul(s, m);
  return [
    when(wants[0], () =>
      rows(
        add(add(mul(c, throughX), mul(mqk1, d)), mul(q, k2)),
        add(mul(mul(d, dK), m), mul(mqk1, c)),
        add(add(mul(a, throughX), mul(mqk1, b)), add(mul(q, k3), mul(ms, k4))),
        add(add(mul(mul(b, dK), m), mul(mqk1, a)), mul(ms, k5)),
        dK,
      )),
    when(wants[1], () => {
      const dr = add(add(mul(dq, mul(mul(mul(weight, r), m), 2)), mul(ds, weight)), mul(k7, kK));
      const dVariance = mul(dr, mul(mul(r, mul(r, r)), -0.5));
      return pad(reshape(dVariance, [1, dVariance.shape[0]]), [[1, 0], [0, 0]]);
    }),
    when(wants[2], () => add(mul(dq, mul(mul(r, r), m)), mul(ds, r))),
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
 * batchNormMix's gradient for its cotangent k, c the coefficient rows from `first`: ∂x =
 * batchNormTrainBackward(x, c₀, k) (x only enters through x̂), ∂c = [Σk·x̂; Σk; Σk·termᵢ …] in
 * those rows (zeros in the others), ∂termᵢ = c₂₊ᵢ·k.
 */
export function batchNormMixVjp(
  k: Tensor, x: Tensor, coefficients: Tensor, terms: readonly Tensor[], eps: number, first: number, wants: readonly boolean[],
): (Tensor | null)[] {
  const row = (i: number) => channelRow(coefficients, first + i);
  return [
    when(wants[0], () => batchNormTrainBackward(x, row(0), k, eps)),
    when(wants[1], () => {
      const used = concat([batchNormAffineGrad(x, k, eps), rows(...terms.map((t) => channelSum(mul(k, t))))], 0);
      const after = coefficients.shape[0] - first - used.shape[0];
      return first === 0 && after === 0 ? used : pad(used, [[first, after], [0, 0]]);
    }),
    ...terms.map((_, i) => when(wants[2 + i], () => mul(k, perChannel(row(2 + i), x)))),
  ];
}

/** batchNormAffineGrad's gradient for its cotangent [k_γ; k_β]: ∂x = batchNormTrainBackward(x, k_γ, g), ∂g = k_γ·x̂ + k_β. */
export function batchNormAffineGradVjp(h: Tensor, [x, g]: Tensor[], eps: number, wants: readonly boolean[]): (Tensor | null)[] {
  return [
    when(wants[0], () => batchNormTrainBackward(x, channelRow(h, 0), g, eps)),
    when(wants[1], () => batchNormTrain(x, channelRow(h, 0), channelRow(h, 1), eps)),
  ];
}
