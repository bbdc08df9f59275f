import {
  conv2d, conv2dInputGrad, conv2dWeightGrad, grad, init, mul, resolvePadding, sum, tanh, tensor, type Tensor, tidy,
} from "../../src/mod.ts";
import { assert, assertEquals, assertThrows, maxRelativeError, test } from "../harness.ts";
import {
  refConv2d, refConv2dInputGrad, refConv2dWeightGrad, type RefConvShapes, type RefGeometry,
} from "../support/reference_conv.ts";
import { checkGrads } from "../support/check_grads.ts";
import { seededValues } from "../support/random.ts";
import { type GoldenTensor, loadGolden } from "./golden.ts";

const backend = await init();
/** The kernel families to test: the adapter's default first, then the other one. */
const VARIANTS = backend.kernels.variants.conv === "textures" ? ["textures", "buffers"] as const : ["buffers", "textures"] as const;

/** Registers `name` once per conv kernel family, switching the backend's variant around `fn`. */
function testVariants(name: string, fn: () => Promise<void>): void {
  for (const variant of VARIANTS) {
    test(`${name} [${variant} kernels]`, async () => {
      const previous = backend.kernels.variants.conv;
      backend.setKernelVariant("conv", variant);
      try {
        await fn();
      } finally {
        backend.setKernelVariant("conv", previous);
      }
    });
  }
}

type Shape4 = [number, number, number, number];
interface Case extends RefGeometry {
  name: string;
  x: Shape4;
  w: Shape4;
}

const geometry = (stride: [number, number], dilation: [number, number], padding: [[number, number], [number, number]], groups: number) =>
  ({ stride, dilation, padding, groups });

// Odd sizes, size-1 dims, channel counts that cross the kernels' 8-row and 256-col tiles.
const CASES: Case[] = [
  { name: "3×3 pad 1", x: [2, 3, 7, 6], w: [4, 3, 3, 3], ...geometry([1, 1], [1, 1], [[1, 1], [1, 1]], 1) },
  { name: "strided, dilated, asymmetric padding, 2 groups", x: [2, 4, 9, 8], w: [6, 2, 3, 2], ...geometry([2, 3], [1, 2], [[0, 2], [1, 0]], 2) },
  { name: "depthwise", x: [1, 5, 10, 11], w: [5, 1, 3, 3], ...geometry([2, 2], [2, 1], [[2, 1], [0, 1]], 5) },
  { name: "1×1 with 70→67 channels", x: [3, 70, 5, 5], w: [67, 70, 1, 1], ...geometry([1, 1], [1, 1], [[0, 0], [0, 0]], 1) },
  { name: "single pixel", x: [1, 1, 1, 1], w: [2, 1, 1, 1], ...geometry([1, 1], [1, 1], [[0, 0], [0, 0]], 1) },
  { name: "7×7 stride-2 stem", x: [1, 3, 19, 17], w: [9, 3, 7, 7], ...geometry([2, 2], [1, 1], [[3, 3], [3, 3]], 1) },
  { name: "1×1 stride 2 (ResNet downsample; odd pixels get no gradient)", x: [2, 4, 7, 6], w: [6, 4, 1, 1], ...geometry([2, 2], [1, 1], [[0, 0], [0, 0]], 1) },
  { name: "strided and dilated, one group", x: [1, 3, 11, 10], w: [5, 3, 3, 3], ...geometry([2, 3], [2, 1], [[1, 2], [0, 1]], 1) },
  { name: "padding wider than the dilated kernel", x: [1, 2, 4, 5], w: [3, 2, 2, 2], ...geometry([3, 2], [1, 1], [[3, 2], [2, 3]], 1) },
  { name: "stride 1, padding wider than the dilated kernel (gy's packing wider than the input gradient reads)", x: [1, 2, 4, 5], w: [3, 2, 2, 2], ...geometry([1, 1], [1, 1], [[0, 2], [1, 0]], 1) },
  { name: "few pixels, many rows (texture lanes step through rows, two row blocks)", x: [2, 9, 3, 5], w: [130, 9, 3, 3], ...geometry([1, 1], [1, 1], [[1, 1], [1, 1]], 1) },
  { name: "wide image (cols past one workgroup)", x: [2, 2, 9, 64], w: [3, 2, 3, 3], ...geometry([1, 1], [1, 1], [[1, 1], [1, 1]], 1) },
];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function inputs(c: Case, seed: number) {
  const xs = seededValues(size(c.x), seed);
  const ws = seededValues(size(c.w), seed + 1);
  return { xs, ws, shapes: { x: c.x, w: c.w } as RefConvShapes };
}

function check(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  const error = maxRelativeError(actual, expected);
  assert(error <= tolerance, `${name}: relative error ${error.toExponential(2)} > ${tolerance}`);
}

testVariants("conv2d forward matches the float64 reference", async () => {
  for (const c of CASES) {
    const { xs, ws, shapes } = inputs(c, 1);
    const expected = refConv2d(xs, ws, shapes, c);
    const y = tidy(() => conv2d(tensor(xs, c.x), tensor(ws, c.w), c));
    assertEquals(y.shape, expected.shape, c.name);
    check(c.name, await y.floats(), expected.data);
    y.dispose();
  }
});

test("conv2d adds the bias per output channel", async () => {
  const c = CASES[0];
  const { xs, ws, shapes } = inputs(c, 2);
  const bias = [0.5, -1, 2, 0.25];
  const expected = refConv2d(xs, ws, shapes, c);
  const plane = expected.shape[2] * expected.shape[3];
  const withBias = expected.data.map((v, i) => v + bias[Math.floor(i / plane) % 4]);
  const y = tidy(() => conv2d(tensor(xs, c.x), tensor(ws, c.w), { ...c, bias: tensor(bias) }));
  check("bias", await y.floats(), withBias);
  y.dispose();
});

testVariants("conv2d first-order gradients match the float64 input and weight gradients", async () => {
  for (const c of CASES) {
    const { xs, ws, shapes } = inputs(c, 3);
    const outShape = refConv2d(xs, ws, shapes, c).shape;
    const rs = seededValues(size(outShape), 4);
    const [dx, dw] = tidy(() => {
      const r = tensor(rs, outShape);
      return grad(([x, w]: Tensor[]) => sum(mul(conv2d(x, w, c), r)))([tensor(xs, c.x), tensor(ws, c.w)]);
    });
    check(`${c.name} dx`, await dx.floats(), refConv2dInputGrad(rs, ws, shapes, c));
    check(`${c.name} dw`, await dw.floats(), refConv2dWeightGrad(xs, rs, shapes, c));
    dx.dispose();
    dw.dispose();
  }
});

// The rules of the two gradient primitives, each against a closed form built from the reference:
// for fixed r, IG(r, w) and WG(x, r) are linear, so the gradients of their squared norms are
//   ∂/∂w Σ IG(r, w)² = 2·WG(IG(r, w), r)      ∂/∂gy Σ IG(gy, w)² = 2·conv(IG(gy, w), w)
//   ∂/∂x Σ WG(x, r)² = 2·IG(r, WG(x, r))      ∂/∂gy Σ WG(x, gy)² = 2·conv(x, WG(x, gy))
testVariants("conv2dInputGrad and conv2dWeightGrad differentiate into the other two primitives", async () => {
  for (const c of CASES) {
    const { xs, ws, shapes } = inputs(c, 5);
    const outShape = refConv2d(xs, ws, shapes, c).shape;
    const rs = seededValues(size(outShape), 6);
    const kernel: [number, number] = [c.w[2], c.w[3]];
    const spatial: [number, number] = [c.x[2], c.x[3]];
    const squared = (t: Tensor) => sum(mul(t, t));
    const [byW, byGyInput, byX, byGyWeight] = tidy(() => {
      const x = tensor(xs, c.x), w = tensor(ws, c.w), r = tensor(rs, outShape);
      return [
        grad((w: Tensor) => squared(conv2dInputGrad(r, w, c, spatial)))(w),
        grad((gy: Tensor) => squared(conv2dInputGrad(gy, w, c, spatial)))(r),
        grad((x: Tensor) => squared(conv2dWeightGrad(x, r, c, kernel)))(x),
        grad((gy: Tensor) => squared(conv2dWeightGrad(x, gy, c, kernel)))(r),
      ];
    });
    const twice = (a: Float64Array) => a.map((v) => 2 * v);
    const ig = refConv2dInputGrad(rs, ws, shapes, c);
    const wg = refConv2dWeightGrad(xs, rs, shapes, c);
    check(`${c.name} ∂ΣIG²/∂w`, await byW.floats(), twice(refConv2dWeightGrad(ig, rs, shapes, c)));
    check(`${c.name} ∂ΣIG²/∂gy`, await byGyInput.floats(), twice(refConv2d(ig, ws, shapes, c).data));
    check(`${c.name} ∂ΣWG²/∂x`, await byX.floats(), twice(refConv2dInputGrad(rs, wg, shapes, c)));
    check(`${c.name} ∂ΣWG²/∂gy`, await byGyWeight.floats(), twice(refConv2d(xs, wg, shapes, c).data));
    for (const t of [byW, byGyInput, byX, byGyWeight]) t.dispose();
  }
});

test("conv2d second-order directional derivatives match finite differences", async () => {
  for (const c of [CASES[1], CASES[2]]) {
    const { xs, ws } = inputs(c, 7);
    const outShape = refConv2d(xs, ws, { x: c.x, w: c.w }, c).shape;
    const r = tensor(seededValues(size(outShape), 8), outShape);
    const x = tensor(xs, c.x);
    const w = tensor(ws, c.w);
    await checkGrads(([x]) => sum(mul(tanh(conv2d(x, w, c)), r)), [{ shape: c.x, values: xs }], { seed: 9 });
    await checkGrads(([w]) => sum(mul(tanh(conv2d(x, w, c)), r)), [{ shape: c.w, values: ws }], { seed: 10 });
    for (const t of [r, x, w]) t.dispose();
  }
});

test("SAME padding follows TensorFlow: output ⌈size/stride⌉, the smaller half before", () => {
  // 5×5 kernel, stride 2: even 224 → total 3 (1 before, 2 after); odd 7 → total 4 (2, 2).
  assertEquals(resolvePadding("t", "SAME", [224, 7], [5, 5], [2, 2], [1, 1]), [[1, 2], [2, 2]]);
  // 10×10 kernel, stride 1 (the ClickMe blur, docs/harmonization.md §2.4): total 9 → 4 before, 5 after.
  assertEquals(resolvePadding("t", "SAME", [64, 64], [10, 10], [1, 1], [1, 1]), [[4, 5], [4, 5]]);
  // Dilation widens the kernel: 3 taps at dilation 2 span 5.
  assertEquals(resolvePadding("t", "SAME", [6, 6], [3, 3], [1, 1], [2, 2]), [[2, 2], [2, 2]]);
  assertEquals(resolvePadding("t", "VALID", [6, 6], [3, 3], [1, 1], [1, 1]), [[0, 0], [0, 0]]);
  assertEquals(resolvePadding("t", [1, 2], [6, 6], [3, 3], [1, 1], [1, 1]), [[1, 1], [2, 2]]);
  const y = tidy(() => conv2d(tensor(new Float32Array(2 * 8 * 7), [1, 2, 8, 7]), tensor(new Float32Array(2 * 2 * 25), [2, 2, 5, 5]), { stride: 2, padding: "SAME" }));
  assertEquals(y.shape, [1, 2, 4, 4]);
  y.dispose();
});

test("conv2d errors name the op and the shapes", () => {
  tidy(() => {
    const x = tensor(new Float32Array(6 * 16), [1, 6, 4, 4]);
    assertThrows(() => conv2d(x, tensor(new Float32Array(4 * 3 * 9), [4, 3, 3, 3]), { groups: 4 }), /conv2d: input channels 6 are not divisible by groups 4 \(x \[1, 6, 4, 4\], w \[4, 3, 3, 3\]\)/);
    assertThrows(() => conv2d(x, tensor(new Float32Array(4 * 5 * 9), [4, 5, 3, 3])), /weight expects 5 channels per group × 1 groups, input has 6 channels/);
    assertThrows(() => conv2d(x, tensor(new Float32Array(4 * 6 * 25), [4, 6, 5, 5])), /kernel does not fit the padded input/);
    assertThrows(() => conv2d(x, tensor(new Float32Array(4 * 6), [4, 6, 1, 1]), { bias: tensor([1, 2]) }), /bias must be \[4\]/);
    assertThrows(() => conv2d(x, tensor(new Float32Array(4 * 6), [4, 6, 1, 1]), { stride: 0 }), /stride must be a positive integer/);
    assertThrows(() => conv2d(x, tensor(new Float32Array(4 * 6), [4, 6, 1, 1]), { padding: [[1, 2]] as never }), /padding must be/);
  });
});

interface ConvGolden {
  x: GoldenTensor;
  w: GoldenTensor;
  bias: number[] | null;
  stride: [number, number];
  dilation: [number, number];
  padding: [[number, number], [number, number]] | "SAME" | "VALID";
  groups: number;
  r: number[];
  y: GoldenTensor;
  dL1_dx: number[];
  dL1_dw: number[];
  dL1_db: number[] | null;
  dL2_dx: number[];
  dL2_dw: number[];
  dL2_db: number[] | null;
}

const golden = await loadGolden<ConvGolden>("conv_golden.json");
golden.cases.forEach((g, i) => {
  const label = `x [${g.x.shape}] w [${g.w.shape}] stride [${g.stride}] dilation [${g.dilation}] padding ${JSON.stringify(g.padding)} groups ${g.groups}${g.bias ? " bias" : ""}`;
  test(`conv2d golden ${i} vs PyTorch float64: ${label}`, async () => {
    const results = tidy(() => {
      const params = [tensor(g.x.data, g.x.shape), tensor(g.w.data, g.w.shape), ...(g.bias ? [tensor(g.bias)] : [])];
      const r = tensor(g.r, g.y.shape);
      const forward = ([x, w, bias]: Tensor[]) => conv2d(x, w, { stride: g.stride, dilation: g.dilation, padding: g.padding, groups: g.groups, bias });
      const l1 = (ps: Tensor[]) => sum(mul(tanh(forward(ps)), r));
      const l2 = (ps: Tensor[]) => {
        const [gx] = grad(l1)(ps);
        return sum(mul(gx, gx));
      };
      return { y: forward(params), first: grad(l1)(params), second: grad(l2)(params) };
    });
    const expected: [string, Tensor, number[] | null][] = [
      ["y", results.y, g.y.data],
      ["∂L1/∂x", results.first[0], g.dL1_dx],
      ["∂L1/∂w", results.first[1], g.dL1_dw],
      ["∂L1/∂b", results.first[2], g.dL1_db],
      ["∂L2/∂x", results.second[0], g.dL2_dx],
      ["∂L2/∂w", results.second[1], g.dL2_dw],
      ["∂L2/∂b", results.second[2], g.dL2_db],
    ];
    for (const [name, t, data] of expected) {
      if (data) check(name, await t.floats(), data, 1e-4);
    }
    for (const [, t] of expected) t?.dispose();
  });
});
