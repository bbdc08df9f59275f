/**
 * Float64 reference for the convolution stack: plain loops over NCHW / OIHW arrays, written
 * straight from the definitions (no GEMM, no index tricks) so they can be trusted as the oracle.
 */

export interface RefGeometry {
  stride: [number, number];
  dilation: [number, number];
  padding: [[number, number], [number, number]];
  groups: number;
}

export interface RefConvShapes {
  x: [number, number, number, number];
  w: [number, number, number, number];
}

export function refOutputSize(size: number, k: number, s: number, d: number, pads: [number, number]): number {
  return Math.floor((size + pads[0] + pads[1] - d * (k - 1) - 1) / s) + 1;
}

/** Calls visit(xIndex, wIndex, yIndex) for every (input tap, weight, output) triple of the convolution. */
function forEachTap(shapes: RefConvShapes, g: RefGeometry, visit: (xi: number, wi: number, yi: number) => void): number[] {
  const [n, c, h, w] = shapes.x;
  const [o, cg, kh, kw] = shapes.w;
  const oh = refOutputSize(h, kh, g.stride[0], g.dilation[0], g.padding[0]);
  const ow = refOutputSize(w, kw, g.stride[1], g.dilation[1], g.padding[1]);
  const og = o / g.groups;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const group = Math.floor(oc / og);
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const yi = ((b * o + oc) * oh + i) * ow + j;
          for (let ci = 0; ci < cg; ci++) {
            const ch = group * cg + ci;
            for (let p = 0; p < kh; p++) {
              const y = i * g.stride[0] - g.padding[0][0] + p * g.dilation[0];
              if (y < 0 || y >= h) continue;
              for (let q = 0; q < kw; q++) {
                const x = j * g.stride[1] - g.padding[1][0] + q * g.dilation[1];
                if (x < 0 || x >= w) continue;
                visit(((b * c + ch) * h + y) * w + x, ((oc * cg + ci) * kh + p) * kw + q, yi);
              }
            }
          }
        }
      }
    }
  }
  return [n, o, oh, ow];
}

export function refConv2d(x: ArrayLike<number>, wt: ArrayLike<number>, shapes: RefConvShapes, g: RefGeometry): { data: Float64Array; shape: number[] } {
  const shape = forEachTap(shapes, g, () => {});
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  forEachTap(shapes, g, (xi, wi, yi) => (data[yi] += x[xi] * wt[wi]));
  return { data, shape };
}

export function refConv2dInputGrad(gy: ArrayLike<number>, wt: ArrayLike<number>, shapes: RefConvShapes, g: RefGeometry): Float64Array {
  const dx = new Float64Array(shapes.x.reduce((a, b) => a * b, 1));
  forEachTap(shapes, g, (xi, wi, yi) => (dx[xi] += gy[yi] * wt[wi]));
  return dx;
}

export function refConv2dWeightGrad(x: ArrayLike<number>, gy: ArrayLike<number>, shapes: RefConvShapes, g: RefGeometry): Float64Array {
  const dw = new Float64Array(shapes.w.reduce((a, b) => a * b, 1));
  forEachTap(shapes, g, (xi, wi, yi) => (dw[wi] += gy[yi] * x[xi]));
  return dw;
}

export interface RefPool {
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
  padding: [[number, number], [number, number]];
}

/** Max pooling (padding never wins) or average pooling (dividing by the window or the taps inside). */
export function refPool2d(
  x: ArrayLike<number>,
  xShape: number[],
  p: RefPool,
  kind: "max" | "avg",
  countIncludePad = true,
): { data: Float64Array; shape: number[] } {
  const [n, c, h, w] = xShape;
  const oh = refOutputSize(h, p.kernel[0], p.stride[0], p.dilation[0], p.padding[0]);
  const ow = refOutputSize(w, p.kernel[1], p.stride[1], p.dilation[1], p.padding[1]);
  const data = new Float64Array(n * c * oh * ow);
  for (let plane = 0; plane < n * c; plane++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let best = -Infinity;
        let total = 0;
        let inside = 0;
        for (let a = 0; a < p.kernel[0]; a++) {
          for (let b = 0; b < p.kernel[1]; b++) {
            const y = i * p.stride[0] - p.padding[0][0] + a * p.dilation[0];
            const z = j * p.stride[1] - p.padding[1][0] + b * p.dilation[1];
            if (y < 0 || y >= h || z < 0 || z >= w) continue;
            const v = x[(plane * h + y) * w + z];
            best = Math.max(best, v);
            total += v;
            inside++;
          }
        }
        const divisor = countIncludePad ? p.kernel[0] * p.kernel[1] : inside;
        data[(plane * oh + i) * ow + j] = kind === "max" ? best : total / divisor;
      }
    }
  }
  return { data, shape: [n, c, oh, ow] };
}

/** Training-mode batch norm over N, H, W per channel (population variance), then γ, β. */
export function refBatchNorm(x: ArrayLike<number>, shape: number[], gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number): Float64Array {
  const [n, c, h, w] = shape;
  const out = new Float64Array(x.length);
  const plane = h * w;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) for (let k = 0; k < plane; k++) s += x[(b * c + ch) * plane + k];
    const mu = s / (n * plane);
    let v = 0;
    for (let b = 0; b < n; b++) for (let k = 0; k < plane; k++) v += (x[(b * c + ch) * plane + k] - mu) ** 2;
    const inv = 1 / Math.sqrt(v / (n * plane) + eps);
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < plane; k++) {
        const i = (b * c + ch) * plane + k;
        out[i] = (x[i] - mu) * inv * gamma[ch] + beta[ch];
      }
    }
  }
  return out;
}
