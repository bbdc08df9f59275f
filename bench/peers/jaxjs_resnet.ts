/**
 * ResNet-18 (torchvision's structure: 7×7/2 stem conv, BN, ReLU, 3×3/2 max pool, four stages of
 * two BasicBlocks, global average pool, fc) and its training steps written with jax-js, as the
 * peer of the harmonize benchmark. The harmonized step follows docs/harmonization.md §1 exactly: signed channel-mean
 * saliency from a `valueAndGrad` nested inside the outer `valueAndGrad` (double backprop),
 * standardize-cut with the population σ, the human map rescaled with stopGradient on the saliency
 * max, the 5-level pyramid of the 5×5 binomial stride-2 TF-SAME blur, the token-weighted MSE,
 * label-smoothed CE and the L2 term over every non-BN parameter; then plain SGD. The whole step
 * (forward, both backward passes, update) is one `jit`. Weights come from a torchvision-named
 * state dict, so a run can start jax-js and Harmonize from the same weights and compare losses.
 *
 * Differences from the Harmonize step, both negligible in cost: BatchNorm's running statistics are
 * not updated (the normalisation itself uses batch statistics, as in training), and the max pool
 * pads with zeros instead of −∞ — exact here, since its input comes out of a ReLU (≥ 0). Three
 * jax-js 0.1.25 pitfalls are worked around where they arise (see harmonizedLoss,
 * binomialDownsample, weightL2); bench/harmonize/crosscheck.ts checks the loss and every gradient
 * against Harmonize's.
 *
 * jax-js owns its arguments (reference counting): every array is used once, or passed as `.ref`.
 */
import { type Array as JaxArray, jit, lax, nn, numpy as np, tree, valueAndGrad } from "@jax-js/jax";
import type { HostTensor, Workload } from "./peer.ts";

type BatchNormParams = { weight: JaxArray; bias: JaxArray };
type DownsampleParams = { conv: JaxArray; bn: BatchNormParams };
type BlockParams = {
  conv1: JaxArray;
  bn1: BatchNormParams;
  conv2: JaxArray;
  bn2: BatchNormParams;
  /** One entry where the block changes resolution or width, none otherwise. */
  downsample: DownsampleParams[];
};
export type ResNet18Params = {
  conv1: JaxArray;
  bn1: BatchNormParams;
  stages: BlockParams[][];
  fc: { weight: JaxArray; bias: JaxArray };
};

/** Planes of the four stages; each has two BasicBlocks. */
const WIDTHS = [64, 128, 256, 512];
const BN_EPS = 1e-5;
const LABEL_SMOOTHING = 0.1;
const WEIGHT_DECAY = 1e-5;
const PYRAMID_LEVELS = 5;
const BINOMIAL_5 = [1, 4, 6, 4, 1];

// ---- parameters, by torchvision's names (conv1.weight, layer2.0.downsample.1.bias, fc.weight, …) ----

/** Float32 host arrays by PyTorch name, e.g. a Harmonize ResNet-18's `hostStateDict()`. */
export type NamedHostArrays = Map<string, { data: Float32Array | Int32Array; shape: readonly number[] }>;

/**
 * Uploads a torchvision ResNet-18 state dict (extra entries such as BatchNorm's running
 * statistics are ignored), so both frameworks can start from the very same weights.
 */
export function resnet18FromState(state: NamedHostArrays): ResNet18Params {
  const take = (name: string): JaxArray => {
    const entry = state.get(name);
    if (!entry || !(entry.data instanceof Float32Array)) throw new Error(`jax-js resnet18: no float32 parameter "${name}"`);
    return np.array(entry.data as Float32Array<ArrayBuffer>, { shape: [...entry.shape], dtype: np.float32, device: "webgpu" });
  };
  const bn = (prefix: string): BatchNormParams => ({ weight: take(`${prefix}.weight`), bias: take(`${prefix}.bias`) });
  let channels = WIDTHS[0];
  const stages = WIDTHS.map((planes, i) =>
    [0, 1].map((j): BlockParams => {
      const prefix = `layer${i + 1}.${j}`;
      const changes = (i > 0 && j === 0) || channels !== planes;
      channels = planes;
      return {
        conv1: take(`${prefix}.conv1.weight`),
        bn1: bn(`${prefix}.bn1`),
        conv2: take(`${prefix}.conv2.weight`),
        bn2: bn(`${prefix}.bn2`),
        downsample: changes ? [{ conv: take(`${prefix}.downsample.0.weight`), bn: bn(`${prefix}.downsample.1`) }] : [],
      };
    })
  );
  return { conv1: take("conv1.weight"), bn1: bn("bn1"), stages, fc: { weight: take("fc.weight"), bias: take("fc.bias") } };
}

/** The parameters by torchvision name (the inverse of resnet18FromState; the arrays are not copied). */
export function resnet18Named(p: ResNet18Params): Map<string, JaxArray> {
  const named = new Map<string, JaxArray>([["conv1.weight", p.conv1], ["bn1.weight", p.bn1.weight], ["bn1.bias", p.bn1.bias]]);
  p.stages.forEach((stage, i) =>
    stage.forEach((block, j) => {
      const prefix = `layer${i + 1}.${j}`;
      named.set(`${prefix}.conv1.weight`, block.conv1);
      named.set(`${prefix}.bn1.weight`, block.bn1.weight);
      named.set(`${prefix}.bn1.bias`, block.bn1.bias);
      named.set(`${prefix}.conv2.weight`, block.conv2);
      named.set(`${prefix}.bn2.weight`, block.bn2.weight);
      named.set(`${prefix}.bn2.bias`, block.bn2.bias);
      for (const down of block.downsample) {
        named.set(`${prefix}.downsample.0.weight`, down.conv);
        named.set(`${prefix}.downsample.1.weight`, down.bn.weight);
        named.set(`${prefix}.downsample.1.bias`, down.bn.bias);
      }
    })
  );
  named.set("fc.weight", p.fc.weight);
  named.set("fc.bias", p.fc.bias);
  return named;
}

// ---- the model ----

function conv(x: JaxArray, w: JaxArray, stride: number, pad: number): JaxArray {
  return lax.convGeneralDilated(x, w, [stride, stride], [[pad, pad], [pad, pad]]);
}

/** Training-mode BatchNorm: batch mean and population variance per channel. */
function batchNorm(x: JaxArray, { weight, bias }: BatchNormParams): JaxArray {
  const channels = x.shape[1];
  const mu = np.mean(x.ref, [0, 2, 3], { keepdims: true });
  const centred = x.sub(mu);
  const variance = np.mean(np.square(centred.ref), [0, 2, 3], { keepdims: true });
  const normalised = centred.mul(np.reciprocal(np.sqrt(variance.add(BN_EPS))));
  return normalised.mul(weight.reshape([1, channels, 1, 1])).add(bias.reshape([1, channels, 1, 1]));
}

/** 3×3, stride 2, padding 1. Zero padding equals −∞ padding because x ≥ 0 (it follows a ReLU). */
function maxPool(x: JaxArray): JaxArray {
  const padded = np.pad(x, [[0, 0], [0, 0], [1, 1], [1, 1]]);
  return lax.reduceWindow(padded, (window: JaxArray) => np.max(window), [3, 3], [2, 2]);
}

function basicBlock(x: JaxArray, p: BlockParams, stride: number): JaxArray {
  const [down] = p.downsample;
  const shortcut = down ? batchNorm(conv(x.ref, down.conv, stride, 0), down.bn) : x.ref;
  const y = nn.relu(batchNorm(conv(x, p.conv1, stride, 1), p.bn1));
  return nn.relu(batchNorm(conv(y, p.conv2, 1, 1), p.bn2).add(shortcut));
}

/** Logits [N, K] of images [N, 3, H, W]; consumes the parameter tree. */
export function resnet18Forward(p: ResNet18Params, x: JaxArray): JaxArray {
  let y = maxPool(nn.relu(batchNorm(conv(x, p.conv1, 2, 3), p.bn1)));
  p.stages.forEach((stage, i) => stage.forEach((block, j) => (y = basicBlock(y, block, i > 0 && j === 0 ? 2 : 1))));
  const pooled = np.mean(y, [2, 3]);
  return np.matmul(pooled, p.fc.weight.transpose()).add(p.fc.bias);
}

// ---- the loss (docs/harmonization.md §1) ----

/** §1.9: Σ ½‖θ‖² over conv and fc weights and the fc bias; BatchNorm parameters are excluded (disposed). */
export function weightL2(p: ResNet18Params): JaxArray {
  const decayed: JaxArray[] = [p.conv1, p.fc.weight, p.fc.bias];
  const excluded: BatchNormParams[] = [p.bn1];
  for (const block of p.stages.flat()) {
    decayed.push(block.conv1, block.conv2, ...block.downsample.map((d) => d.conv));
    excluded.push(block.bn1, block.bn2, ...block.downsample.map((d) => d.bn));
  }
  tree.dispose(excluded);
  // Two-stage sums: jax-js 0.1.25 sums a whole array in one loop, which lavapipe stops after 65535
  // iterations (a 2.4M-weight layer would count as 65535 values); rows stay below that.
  const halfSquares = (w: JaxArray) => np.sum(np.sum(np.square(w).reshape([w.shape[0], -1]), 1)).mul(0.5);
  return decayed.map(halfSquares).reduce((a, b) => a.add(b));
}

/** §1.8: mean_n CE(logits[n], (1 − 0.1)·onehot[n] + 0.1/K). */
export function smoothedCrossEntropy(logits: JaxArray, onehot: JaxArray): JaxArray {
  const classes = logits.shape[1];
  const target = onehot.mul(1 - LABEL_SMOOTHING).add(LABEL_SMOOTHING / classes);
  return np.mean(np.sum(target.mul(nn.logSoftmax(logits, -1)), -1)).neg();
}

/** §1.3: relu((M − μ) / (σ + 1e-5)) per map [N, H, W], σ the population standard deviation. */
export function standardizeCut(maps: JaxArray): JaxArray {
  const mu = np.mean(maps.ref, [1, 2], { keepdims: true });
  const centred = maps.sub(mu);
  const sigma = np.sqrt(np.mean(np.square(centred.ref), [1, 2], { keepdims: true }));
  return nn.relu(centred.div(sigma.add(1e-5)));
}

/**
 * The [⌈n/2⌉, n] matrix of one 1-D pass of §1.6: row o holds the taps [1,4,6,4,1]/16 at columns
 * 2o − before … 2o − before + 4 (TF SAME: total padding max((⌈n/2⌉−1)·2 + 5 − n, 0), the smaller
 * half before); columns in the padding are dropped, which is zero padding.
 */
function downsampleMatrix(size: number): JaxArray {
  const out = Math.ceil(size / 2);
  const before = Math.floor(Math.max((out - 1) * 2 + 5 - size, 0) / 2);
  const values = new Float32Array(out * size);
  for (let o = 0; o < out; o++) {
    for (let t = 0; t < 5; t++) {
      const i = 2 * o - before + t;
      if (i >= 0 && i < size) values[o * size + i] = BINOMIAL_5[t] / 16;
    }
  }
  return np.array(values, { shape: [out, size], dtype: np.float32, device: "webgpu" });
}

/**
 * §1.6: one pyramid level, the separable 5×5 binomial outer([1,4,6,4,1])²/256 with stride 2 and TF
 * SAME zero padding, as two 2-D products with the pass matrices (along W, then along H). Not a
 * strided convolution: jax-js 0.1.25 differentiates that one wrongly here (input gradients 36–118 %
 * off on lavapipe, also written as stride 1 + subsampling), while its 2-D matmul gradients are exact.
 */
export function binomialDownsample(maps: JaxArray): JaxArray {
  const [n, h, w] = maps.shape;
  const [oh, ow] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  const alongW = np.matmul(maps.reshape([n * h, w]), np.matrixTranspose(downsampleMatrix(w)));
  const swapped = alongW.reshape([n, h, ow]).transpose([0, 2, 1]).reshape([n * ow, h]);
  const alongH = np.matmul(swapped, np.matrixTranspose(downsampleMatrix(h)));
  return alongH.reshape([n, ow, oh]).transpose([0, 2, 1]);
}

/** §1.7: (1/5) Σ_i mean_{n,h,w} t_n (P_i(a) − P_i(b))²; rows with t = 0 stay in the denominator. */
export function pyramidalMse(a: JaxArray, b: JaxArray, tokens: JaxArray): JaxArray {
  const weights = tokens.reshape([a.shape[0], 1, 1]);
  let total: JaxArray | null = null;
  for (let level = 0; level < PYRAMID_LEVELS; level++) {
    const last = level === PYRAMID_LEVELS - 1;
    const diff = last ? a.sub(b) : a.ref.sub(b.ref);
    const term = np.mean(np.square(diff).mul(last ? weights : weights.ref));
    total = total ? total.add(term) : term;
    if (!last) {
      a = binomialDownsample(a);
      b = binomialDownsample(b);
    }
  }
  return total!.div(PYRAMID_LEVELS);
}

/** §1.3–1.7 from the saliency S and the human maps, both [N, H, W]. */
export function harmonizationTerm(saliency: JaxArray, heatmaps: JaxArray, tokens: JaxArray): JaxArray {
  const s = standardizeCut(saliency);
  const hm = standardizeCut(heatmaps);
  const sMax = lax.stopGradient(np.max(s.ref, [1, 2], { keepdims: true }));
  const hmMax = np.max(hm.ref, [1, 2], { keepdims: true });
  const rescaled = hm.div(hmMax.add(1e-6)).mul(sMax.add(1e-6));
  return pyramidalMse(s, rescaled, tokens);
}

/** docs/harmonization.md §1, λ_h = 1, λ_w = 1e-5: the saliency is a gradient kept in the graph of the outer one. */
export function harmonizedLoss(p: ResNet18Params, x: JaxArray, onehot: JaxArray, heatmaps: JaxArray, tokens: JaxArray): JaxArray {
  // The parameters must be closed over: jax-js 0.1.25 drops the outer gradient of tracers passed
  // as extra (non-differentiated) arguments of an inner grad — they come out with zero gradient.
  const score = (images: JaxArray): [JaxArray, JaxArray] => {
    const logits = resnet18Forward(tree.ref(p), images);
    return [np.sum(logits.ref.mul(onehot.ref)), logits];
  };
  const [[value, logits], gradient] = valueAndGrad(score, { hasAux: true })(x);
  value.dispose();
  const saliency = np.mean(gradient, 1);
  const harmonization = harmonizationTerm(saliency, heatmaps, tokens);
  const crossEntropy = smoothedCrossEntropy(logits, onehot);
  return crossEntropy.add(weightL2(p).mul(WEIGHT_DECAY)).add(harmonization);
}

/** The baseline: L_ce + λ_w·L_w (heatmaps and tokens unused). */
export function plainLoss(p: ResNet18Params, x: JaxArray, onehot: JaxArray, heatmaps: JaxArray, tokens: JaxArray): JaxArray {
  heatmaps.dispose();
  tokens.dispose();
  const logits = resnet18Forward(tree.ref(p), x);
  return smoothedCrossEntropy(logits, onehot).add(weightL2(p).mul(WEIGHT_DECAY));
}

export type StepMode = "harmonized" | "plain";

/** One jitted SGD step: (params, x, onehot, heatmaps, tokens) → [loss, new params]; consumes its arguments. */
export function resnet18Step(mode: StepMode, lr: number) {
  const lossOf = mode === "harmonized" ? harmonizedLoss : plainLoss;
  return jit((p: ResNet18Params, x: JaxArray, onehot: JaxArray, heatmaps: JaxArray, tokens: JaxArray) => {
    const [loss, grads] = valueAndGrad(lossOf)(tree.ref(p), x, onehot, heatmaps, tokens);
    const updated = tree.map((w: JaxArray, g: JaxArray) => w.sub(g.mul(lr)), p, grads) as ResNet18Params;
    return [loss, updated] as [JaxArray, ResNet18Params];
  });
}

/** One batch on the host: images [N, 3, H, W], human maps [N, H, W], one-hot labels [N, K], tokens [N]. */
export interface HostBatch {
  images: HostTensor;
  heatmaps: HostTensor;
  onehot: HostTensor;
  tokens: HostTensor;
}

/**
 * A benchmark workload: each run() is one training step on a fixed batch from the given initial
 * weights, sync() reads the loss back, read() returns the last loss read.
 */
export function resnet18StepWorkload(mode: StepMode, state: NamedHostArrays, batch: HostBatch, lr: number): Workload {
  const step = resnet18Step(mode, lr);
  let params: ResNet18Params | null = resnet18FromState(state);
  const upload = ({ data, shape }: HostTensor) => np.array(data, { shape, dtype: np.float32, device: "webgpu" });
  const [x, heatmaps, onehot, tokens] = [batch.images, batch.heatmaps, batch.onehot, batch.tokens].map(upload);
  let loss: JaxArray | null = null;
  let lastLoss = NaN;
  return {
    run() {
      if (!params) throw new Error("jax-js resnet18 step: run() after dispose()");
      loss?.dispose();
      [loss, params] = step(params, x.ref, onehot.ref, heatmaps.ref, tokens.ref);
    },
    async sync() {
      if (loss) lastLoss = (await loss.ref.data())[0];
    },
    async read() {
      return new Float32Array([lastLoss]);
    },
    dispose() {
      loss?.dispose();
      loss = null;
      tree.dispose(params);
      params = null;
      step.dispose();
      for (const a of [x, heatmaps, onehot, tokens]) a.dispose();
    },
  };
}
