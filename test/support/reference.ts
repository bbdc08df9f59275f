/**
 * The float64 oracle: every primitive in plain TypeScript on row-major Float64Arrays, with the
 * same names and signatures as the GPU ops so one spec function runs on both (see test/ops/spec.ts).
 */

import type { Correlate1dAttrs as Correlate1d } from "../../src/primitive.ts";
export type { Correlate1d };

export class Ref {
  constructor(readonly shape: number[], readonly data: Float64Array) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`Ref: ${data.length} values for shape [${shape}]`);
  }
  get size(): number {
    return this.data.length;
  }
}

export function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function coords(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return c;
}

function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    s.forEach((d, i) => {
      const j = rank - s.length + i;
      if (d !== 1) out[j] = d;
    });
  }
  return out;
}

/** Reads `x` broadcast to `shape` at flat index i of `shape`. */
function broadcastRead(x: Ref, shape: readonly number[]): (i: number) => number {
  const xs = strides(x.shape);
  const offset = shape.length - x.shape.length;
  return (i) => {
    const c = coords(i, shape);
    let k = 0;
    for (let d = 0; d < x.shape.length; d++) if (x.shape[d] !== 1) k += c[d + offset] * xs[d];
    return x.data[k];
  };
}

function map(x: Ref, f: (v: number) => number): Ref {
  return new Ref([...x.shape], x.data.map(f));
}

function zip(a: Ref, b: Ref, f: (x: number, y: number) => number): Ref {
  const shape = broadcastShape(a.shape, b.shape);
  const ra = broadcastRead(a, shape);
  const rb = broadcastRead(b, shape);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) out[i] = f(ra(i), rb(i));
  return new Ref(shape, out);
}

/** erf to double precision (Abramowitz–Stegun 7.1.28 is too coarse; use the series/continued fraction). */
export function erf64(x: number): number {
  const z = Math.abs(x);
  let result: number;
  if (z < 3) {
    // Maclaurin series: converges quickly for |x| < 3.
    let term = z;
    let sum = z;
    for (let n = 1; n < 100; n++) {
      term *= -z * z / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    result = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Continued fraction for erfc.
    let f = 0;
    for (let n = 60; n >= 1; n--) f = n / 2 / (z + f);
    result = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f);
  }
  return x < 0 ? -result : result;
}

function reduce(x: Ref, axes: readonly number[], keepDims: boolean, init: number, f: (acc: number, v: number) => number): Ref {
  const outShapeKeep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(size(outShapeKeep)).fill(init);
  const os = strides(outShapeKeep);
  for (let i = 0; i < x.size; i++) {
    const c = coords(i, x.shape);
    let k = 0;
    c.forEach((v, d) => (k += (axes.includes(d) ? 0 : v) * os[d]));
    out[k] = f(out[k], x.data[i]);
  }
  const shape = keepDims ? outShapeKeep : x.shape.filter((_, i) => !axes.includes(i));
  return new Ref(shape, out);
}

export const ref = {
  neg: (x: Ref) => map(x, (v) => -v),
  exp: (x: Ref) => map(x, Math.exp),
  log: (x: Ref) => map(x, Math.log),
  sqrt: (x: Ref) => map(x, Math.sqrt),
  rsqrt: (x: Ref) => map(x, (v) => 1 / Math.sqrt(v)),
  abs: (x: Ref) => map(x, Math.abs),
  sign: (x: Ref) => map(x, Math.sign),
  tanh: (x: Ref) => map(x, Math.tanh),
  erf: (x: Ref) => map(x, erf64),
  relu: (x: Ref) => map(x, (v) => Math.max(v, 0)),
  add: (a: Ref, b: Ref) => zip(a, b, (x, y) => x + y),
  sub: (a: Ref, b: Ref) => zip(a, b, (x, y) => x - y),
  mul: (a: Ref, b: Ref) => zip(a, b, (x, y) => x * y),
  div: (a: Ref, b: Ref) => zip(a, b, (x, y) => x / y),
  pow: (a: Ref, b: Ref) => zip(a, b, Math.pow),
  maximum: (a: Ref, b: Ref) => zip(a, b, Math.max),
  minimum: (a: Ref, b: Ref) => zip(a, b, Math.min),
  less: (a: Ref, b: Ref) => zip(a, b, (x, y) => +(x < y)),
  lessEqual: (a: Ref, b: Ref) => zip(a, b, (x, y) => +(x <= y)),
  greater: (a: Ref, b: Ref) => zip(a, b, (x, y) => +(x > y)),
  greaterEqual: (a: Ref, b: Ref) => zip(a, b, (x, y) => +(x >= y)),
  equal: (a: Ref, b: Ref) => zip(a, b, (x, y) => +(x === y)),
  notEqual: (a: Ref, b: Ref) => zip(a, b, (x, y) => +(x !== y)),
  where(c: Ref, a: Ref, b: Ref): Ref {
    const shape = broadcastShape(c.shape, a.shape, b.shape);
    const [rc, ra, rb] = [broadcastRead(c, shape), broadcastRead(a, shape), broadcastRead(b, shape)];
    const out = new Float64Array(size(shape));
    for (let i = 0; i < out.length; i++) out[i] = rc(i) !== 0 ? ra(i) : rb(i);
    return new Ref(shape, out);
  },
  sum: (x: Ref, axes: number[], keepDims = false) => reduce(x, axes, keepDims, 0, (a, v) => a + v),
  max: (x: Ref, axes: number[], keepDims = false) => reduce(x, axes, keepDims, -Infinity, Math.max),
  min: (x: Ref, axes: number[], keepDims = false) => reduce(x, axes, keepDims, Infinity, Math.min),
  argmax(x: Ref, axis: number): Ref {
    const outShape = x.shape.filter((_, i) => i !== axis);
    const out = new Float64Array(size(outShape));
    const best = new Float64Array(out.length).fill(-Infinity);
    for (let i = 0; i < x.size; i++) {
      const c = coords(i, x.shape);
      const k = c.filter((_, d) => d !== axis).reduce((acc, v, d) => acc * outShape[d] + v, 0);
      if (x.data[i] > best[k]) {
        best[k] = x.data[i];
        out[k] = c[axis];
      }
    }
    return new Ref(outShape, out);
  },
  matmul(a: Ref, b: Ref, { transA = false, transB = false } = {}): Ref {
    const [ar, ac] = a.shape.slice(-2);
    const [br, bc] = b.shape.slice(-2);
    const [M, K] = transA ? [ac, ar] : [ar, ac];
    const N = transB ? br : bc;
    const batchA = size(a.shape.slice(0, -2));
    const batchB = size(b.shape.slice(0, -2));
    const batchShape = batchA >= batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
    const batch = size(batchShape);
    const out = new Float64Array(batch * M * N);
    for (let p = 0; p < batch; p++) {
      const ao = batchA === 1 ? 0 : p * M * K;
      const bo = batchB === 1 ? 0 : p * K * N;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let acc = 0;
          for (let k = 0; k < K; k++) {
            const av = transA ? a.data[ao + k * M + m] : a.data[ao + m * K + k];
            const bv = transB ? b.data[bo + n * K + k] : b.data[bo + k * N + n];
            acc += av * bv;
          }
          out[p * M * N + m * N + n] = acc;
        }
      }
    }
    return new Ref([...batchShape, M, N], out);
  },
  reshape: (x: Ref, shape: readonly number[]) => new Ref([...shape], x.data),
  permute(x: Ref, perm: readonly number[]): Ref {
    const shape = perm.map((p) => x.shape[p]);
    const xs = strides(x.shape);
    const out = new Float64Array(x.size);
    for (let i = 0; i < out.length; i++) {
      const c = coords(i, shape);
      out[i] = x.data[c.reduce((acc, v, d) => acc + v * xs[perm[d]], 0)];
    }
    return new Ref(shape, out);
  },
  broadcastTo(x: Ref, shape: readonly number[]): Ref {
    const read = broadcastRead(x, shape);
    return new Ref([...shape], Float64Array.from({ length: size(shape) }, (_, i) => read(i)));
  },
  slice(x: Ref, begin: readonly number[], sizes: readonly number[]): Ref {
    const xs = strides(x.shape);
    const out = new Float64Array(size(sizes));
    for (let i = 0; i < out.length; i++) {
      const c = coords(i, sizes);
      out[i] = x.data[c.reduce((acc, v, d) => acc + (v + begin[d]) * xs[d], 0)];
    }
    return new Ref([...sizes], out);
  },
  pad(x: Ref, pads: readonly (readonly [number, number])[], value = 0): Ref {
    const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
    const xs = strides(x.shape);
    const out = new Float64Array(size(shape)).fill(value);
    for (let i = 0; i < x.size; i++) {
      const c = coords(i, x.shape);
      const os = strides(shape);
      out[c.reduce((acc, v, d) => acc + (v + pads[d][0]) * os[d], 0)] = x.data[c.reduce((a, v, d) => a + v * xs[d], 0)];
    }
    return new Ref(shape, out);
  },
  concat(xs: readonly Ref[], axis: number): Ref {
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((acc, x) => acc + x.shape[axis], 0);
    let result = new Ref(shape, new Float64Array(size(shape)));
    let start = 0;
    for (const x of xs) {
      const pads = x.shape.map((d, i) => (i === axis ? [start, shape[i] - start - d] : [0, 0]) as [number, number]);
      result = ref.add(result, ref.pad(x, pads));
      start += x.shape[axis];
    }
    return result;
  },
  gather(x: Ref, indices: Ref, axis: number): Ref {
    const xs = strides(x.shape);
    const out = new Float64Array(indices.size);
    for (let i = 0; i < out.length; i++) {
      const c = coords(i, indices.shape);
      c[axis] = indices.data[i];
      out[i] = x.data[c.reduce((acc, v, d) => acc + v * xs[d], 0)];
    }
    return new Ref([...indices.shape], out);
  },
  scatterAdd(src: Ref, indices: Ref, axis: number, axisSize: number): Ref {
    const shape = [...src.shape];
    shape[axis] = axisSize;
    const os = strides(shape);
    const out = new Float64Array(size(shape));
    for (let i = 0; i < src.size; i++) {
      const c = coords(i, src.shape);
      c[axis] = indices.data[i];
      out[c.reduce((acc, v, d) => acc + v * os[d], 0)] += src.data[i];
    }
    return new Ref(shape, out);
  },
  logSumExp(x: Ref, axes: number[], keepDims = false): Ref {
    const peak = ref.max(x, axes, true);
    const total = ref.add(ref.log(ref.sum(ref.exp(ref.sub(x, peak)), axes, true)), peak);
    return keepDims ? total : ref.reshape(total, x.shape.filter((_, i) => !axes.includes(i)));
  },
  /** out[o, j, i] = Σ_t taps[t]·x[o, j·stride + t − padBefore, i], zero outside. */
  correlate1d(x: Ref, a: Correlate1d): Ref {
    const outer = size(x.shape.slice(0, a.axis));
    const inner = size(x.shape.slice(a.axis + 1));
    const shape = [...x.shape];
    shape[a.axis] = a.outSize;
    const out = new Float64Array(size(shape));
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < a.outSize; j++) {
        for (let i = 0; i < inner; i++) {
          let acc = 0;
          a.taps.forEach((tap, t) => {
            const l = j * a.stride + t - a.padBefore;
            if (l >= 0 && l < a.inSize) acc += tap * x.data[(o * a.inSize + l) * inner + i];
          });
          out[(o * a.outSize + j) * inner + i] = acc;
        }
      }
    }
    return new Ref(shape, out);
  },
  /** The transpose of correlate1d. */
  correlate1dAdjoint(g: Ref, a: Correlate1d): Ref {
    const outer = size(g.shape.slice(0, a.axis));
    const inner = size(g.shape.slice(a.axis + 1));
    const shape = [...g.shape];
    shape[a.axis] = a.inSize;
    const out = new Float64Array(size(shape));
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < a.outSize; j++) {
        for (let i = 0; i < inner; i++) {
          a.taps.forEach((tap, t) => {
            const l = j * a.stride + t - a.padBefore;
            if (l >= 0 && l < a.inSize) out[(o * a.inSize + l) * inner + i] += tap * g.data[(o * a.outSize + j) * inner + i];
          });
        }
      }
    }
    return new Ref(shape, out);
  },
  softmax(x: Ref, axis: number): Ref {
    return ref.exp(ref.sub(x, ref.logSumExp(x, [axis], true)));
  },
  /** [2, C]: per-channel (axis 1) mean and biased variance. */
  batchNormStats(x: Ref): Ref {
    const { mean, variance } = channelMoments(x);
    return new Ref([2, mean.length], Float64Array.from([...mean, ...variance]));
  },
  batchNormTrain(x: Ref, weight: Ref, bias: Ref, eps: number): Ref {
    const { mean, variance } = channelMoments(x);
    return mapChannels(x, (v, c) => (v - mean[c]) / Math.sqrt(variance[c] + eps) * weight.data[c] + bias.data[c]);
  },
  batchNormEval(x: Ref, mean: Ref, variance: Ref, weight: Ref, bias: Ref, eps: number): Ref {
    return mapChannels(x, (v, c) => (v - mean.data[c]) / Math.sqrt(variance.data[c] + eps) * weight.data[c] + bias.data[c]);
  },
  /** ∂⟨g, batchNormTrain(x, weight, ·)⟩/∂x = weight·r·(g − mean(g) − x̂·mean(g·x̂)). */
  batchNormTrainBackward(x: Ref, weight: Ref, g: Ref, eps: number): Ref {
    const { mean, variance, count } = channelMoments(x);
    const sums = ref.batchNormAffineGrad(x, g, eps).data;
    const channels = mean.length;
    return mapChannels(x, (v, c, i) => {
      const r = 1 / Math.sqrt(variance[c] + eps);
      return weight.data[c] * r * (g.data[i] - sums[channels + c] / count - (v - mean[c]) * r * sums[c] / count);
    });
  },
  /** [2, C]: Σ g·x̂ and Σ g per channel. */
  batchNormAffineGrad(x: Ref, g: Ref, eps: number): Ref {
    const { mean, variance } = channelMoments(x);
    const channels = mean.length;
    const out = new Float64Array(2 * channels);
    mapChannels(x, (v, c, i) => {
      out[c] += g.data[i] * (v - mean[c]) / Math.sqrt(variance[c] + eps);
      out[channels + c] += g.data[i];
      return 0;
    });
    return new Ref([2, channels], out);
  },
};

/** f of every value of x [N, C, ...] with its channel (axis 1) and flat index. */
function mapChannels(x: Ref, f: (v: number, c: number, i: number) => number): Ref {
  const plane = size(x.shape.slice(2));
  return new Ref([...x.shape], x.data.map((v, i) => f(v, Math.floor(i / plane) % x.shape[1], i)));
}

function channelMoments(x: Ref): { mean: number[]; variance: number[]; count: number } {
  const channels = x.shape[1];
  const count = x.size / channels;
  const mean = new Array<number>(channels).fill(0);
  const variance = new Array<number>(channels).fill(0);
  mapChannels(x, (v, c) => (mean[c] += v / count));
  mapChannels(x, (v, c) => (variance[c] += (v - mean[c]) ** 2 / count));
  return { mean, variance, count };
}
