import {
  adaptiveAvgPool2d, avgPool2d, globalAvgPool2d, grad, init, maxPool2d, mul, sum, tanh, tensor, type Tensor, tidy,
} from "../../src/mod.ts";
import { assert, assertEquals, assertThrows, maxRelativeError, test } from "../harness.ts";
import { type RefPool, refPool2d } from "../support/reference_conv.ts";
import { checkGrads } from "../support/check_grads.ts";
import { seededValues } from "../support/random.ts";
import { type GoldenTensor, loadGolden } from "./golden.ts";

await init();

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function check(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  const error = maxRelativeError(actual, expected);
  assert(error <= tolerance, `${name}: relative error ${error.toExponential(2)} > ${tolerance}`);
}

interface PoolCase extends RefPool {
  name: string;
  x: number[];
}

const pool = (kernel: [number, number], stride: [number, number], padding: [[number, number], [number, number]], dilation: [number, number] = [1, 1]) =>
  ({ kernel, stride, padding, dilation });

const CASES: PoolCase[] = [
  { name: "3×3/2 pad 1 (ResNet stem)", x: [2, 3, 9, 8], ...pool([3, 3], [2, 2], [[1, 1], [1, 1]]) },
  { name: "2×2/2 odd input", x: [1, 2, 5, 7], ...pool([2, 2], [2, 2], [[0, 0], [0, 0]]) },
  { name: "3×2 stride [1, 2] dilation [2, 1]", x: [1, 2, 9, 8], ...pool([3, 2], [1, 2], [[1, 1], [0, 0]], [2, 1]) },
  { name: "size-1 output", x: [3, 1, 2, 2], ...pool([2, 2], [2, 2], [[0, 0], [0, 0]]) },
];

test("maxPool2d and avgPool2d match the float64 reference", async () => {
  for (const c of CASES) {
    const xs = seededValues(size(c.x), 1);
    const options = { kernelSize: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation };
    const expectedMax = refPool2d(xs, c.x, c, "max");
    const max = tidy(() => maxPool2d(tensor(xs, c.x), options));
    assertEquals(max.shape, expectedMax.shape, c.name);
    check(`${c.name} max`, await max.floats(), expectedMax.data);
    max.dispose();
    if (c.dilation[0] !== 1 || c.dilation[1] !== 1) continue;
    for (const countIncludePad of [true, false]) {
      const avg = tidy(() => avgPool2d(tensor(xs, c.x), { kernelSize: c.kernel, stride: c.stride, padding: c.padding, countIncludePad }));
      check(`${c.name} avg countIncludePad=${countIncludePad}`, await avg.floats(), refPool2d(xs, c.x, { ...c, dilation: [1, 1] }, "avg", countIncludePad).data);
      avg.dispose();
    }
  }
});

test("global and adaptive average pooling to 1×1 average each plane", async () => {
  const shape = [2, 3, 5, 4];
  const xs = seededValues(size(shape), 2);
  const expected = Array.from({ length: 6 }, (_, p) => xs.slice(p * 20, p * 20 + 20).reduce((a, b) => a + b, 0) / 20);
  const [global, adaptive] = tidy(() => [globalAvgPool2d(tensor(xs, shape)), adaptiveAvgPool2d(tensor(xs, shape), 1)]);
  assertEquals(global.shape, [2, 3, 1, 1]);
  assertEquals(adaptive.shape, [2, 3, 1, 1]);
  check("global", await global.floats(), expected);
  check("adaptive 1", await adaptive.floats(), expected);
  global.dispose();
  adaptive.dispose();
});

test("maxPool2d's gradient scatters to the argmax; its second order (a gather) matches finite differences", async () => {
  const c = CASES[0];
  // Distinct values at least 6/N apart (a shuffled ramp), so a finite-difference step of 2e-3
  // never changes a window's argmax.
  const noise = seededValues(size(c.x), 3);
  const ranks = [...noise.keys()].sort((a, b) => noise[a] - noise[b]);
  const xs = new Float32Array(noise.length);
  ranks.forEach((i, rank) => (xs[i] = -3 + (6 * rank) / noise.length));
  const options = { kernelSize: c.kernel, stride: c.stride, padding: c.padding };
  const ref = refPool2d(xs, c.x, c, "max");
  const rs = seededValues(ref.data.length, 4);
  // First order: each window's cotangent lands on its maximum (windows overlap: contributions add).
  const expected = new Float64Array(xs.length);
  ref.data.forEach((m, o) => {
    const plane = Math.floor(o / (ref.shape[2] * ref.shape[3]));
    const at = xs.findIndex((v, i) => Math.floor(i / (c.x[2] * c.x[3])) === plane && v === Math.fround(m));
    expected[at] += rs[o];
  });
  const dx = tidy(() => {
    const r = tensor(rs, ref.shape);
    return grad((x: Tensor) => sum(mul(maxPool2d(x, options), r)))(tensor(xs, c.x));
  });
  check("dx", await dx.floats(), expected);
  dx.dispose();
  const r = tensor(rs, ref.shape);
  await checkGrads(([x]) => sum(mul(tanh(maxPool2d(x, options)), r)), [{ shape: c.x, values: xs }], { seed: 5, eps: 2e-3 });
  r.dispose();
});

test("avgPool2d and adaptiveAvgPool2d second-order directional derivatives match finite differences", async () => {
  const shape = [2, 2, 7, 6];
  const xs = seededValues(size(shape), 6);
  const avgOut = [2, 2, 4, 3];
  const r = tensor(seededValues(size(avgOut), 7), avgOut);
  await checkGrads(([x]) => sum(mul(tanh(avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false })), r)), [{ shape, values: xs }], {
    seed: 8,
  });
  const adaptiveOut = [2, 2, 3, 2];
  const r2 = tensor(seededValues(size(adaptiveOut), 9), adaptiveOut);
  await checkGrads(([x]) => sum(mul(tanh(adaptiveAvgPool2d(x, [3, 2])), r2)), [{ shape, values: xs }], { seed: 10 });
  r.dispose();
  r2.dispose();
});

test("pooling errors name the op and the shapes", () => {
  tidy(() => {
    const x = tensor(new Float32Array(16), [1, 1, 4, 4]);
    assertThrows(() => maxPool2d(x, { kernelSize: 2, padding: 2 }), /maxPool2d: padding .* exceeds half the kernel \[2,2\] \(x \[1, 1, 4, 4\]\)/);
    assertThrows(() => avgPool2d(tensor(new Float32Array(4), [4]), { kernelSize: 2 }), /avgPool2d: input must be NCHW/);
    assertThrows(() => maxPool2d(x, { kernelSize: 5 }), /maxPool2d: the window does not fit/);
  });
});

interface PoolGolden {
  kind: "max" | "avg" | "adaptive";
  options: {
    kernel_size?: [number, number];
    stride?: [number, number];
    padding?: [number, number];
    dilation?: [number, number];
    count_include_pad?: boolean;
    output_size?: [number, number];
  };
  x: GoldenTensor;
  r: number[];
  y: GoldenTensor;
  dL1_dx: number[];
  dL2_dx: number[];
}

function goldenPool(g: PoolGolden, x: Tensor): Tensor {
  const o = g.options;
  if (g.kind === "adaptive") return adaptiveAvgPool2d(x, o.output_size!);
  const common = { kernelSize: o.kernel_size!, stride: o.stride, padding: o.padding };
  if (g.kind === "max") return maxPool2d(x, { ...common, dilation: o.dilation });
  return avgPool2d(x, { ...common, countIncludePad: o.count_include_pad });
}

const golden = await loadGolden<PoolGolden>("pool_golden.json");
golden.cases.forEach((g, i) => {
  test(`pooling golden ${i} vs PyTorch float64: ${g.kind} x [${g.x.shape}] ${JSON.stringify(g.options)}`, async () => {
    const [y, first, second] = tidy(() => {
      const x = tensor(g.x.data, g.x.shape);
      const r = tensor(g.r, g.y.shape);
      const l1 = (x: Tensor) => sum(mul(tanh(goldenPool(g, x)), r));
      const l2 = (x: Tensor) => {
        const gx = grad(l1)(x);
        return sum(mul(gx, gx));
      };
      return [goldenPool(g, x), grad(l1)(x), grad(l2)(x)];
    });
    assertEquals(y.shape, g.y.shape);
    check("y", await y.floats(), g.y.data, 1e-4);
    check("∂L1/∂x", await first.floats(), g.dL1_dx, 1e-4);
    check("∂L2/∂x", await second.floats(), g.dL2_dx, 1e-4);
    for (const t of [y, first, second]) t.dispose();
  });
});
