/**
 * matmulSum (Σᵢ op(Aᵢ)·op(Bᵢ)) on every matmul variant against float64, the texture variant's one
 * product over the concatenated K, and grad() summing a parameter's product cotangents with it.
 */
import * as h from "../../src/mod.ts";
import { type MatrixProduct, matmulSum, matmulSumFuses } from "../../src/ops/matmul.ts";
import { profile } from "../../src/profile.ts";
import { assert, assertClose, assertEquals, test } from "../harness.ts";
import { Ref, ref } from "../support/reference.ts";
import { seededValues } from "../support/random.ts";
import { recordedGradients } from "../support/recorded_gradients.ts";

interface Term {
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
}

const CASES: { terms: Term[]; fuses: boolean }[] = [
  // packed A (transposed), packed B (N not a multiple of 64)
  { terms: [{ a: [8, 5], b: [8, 6], transA: true }, { a: [12, 5], b: [12, 6], transA: true }], fuses: true },
  // every transpose, three terms
  { terms: [{ a: [5, 4], b: [4, 6] }, { a: [8, 5], b: [6, 8], transA: true, transB: true }, { a: [5, 12], b: [12, 6] }], fuses: true },
  // copied A and B (rows of 64 floats) beside packed ones; M, N not tile multiples
  { terms: [{ a: [67, 128], b: [128, 64] }, { a: [36, 67], b: [36, 64], transA: true }, { a: [67, 64], b: [64, 64] }], fuses: true },
  // a K that is not a multiple of 4: a product and an add per term
  { terms: [{ a: [3, 3], b: [3, 2] }, { a: [3, 4], b: [4, 2] }], fuses: false },
];

const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

for (const variant of h.KERNEL_VARIANTS.matmul) {
  test(`matmulSum ${variant}: sums of products match float64`, async () => {
    const backend = await h.init();
    const previous = backend.kernels.variants.matmul;
    backend.setKernelVariant("matmul", variant);
    try {
      for (const [i, { terms, fuses }] of CASES.entries()) {
        const values = terms.map((t, j) => [seededValues(size(t.a), 10 * i + 2 * j), seededValues(size(t.b), 10 * i + 2 * j + 1)]);
        const gpuTerms: MatrixProduct[] = terms.map((t, j) => ({
          a: h.tensor(values[j][0], t.a), b: h.tensor(values[j][1], t.b), transA: t.transA ?? false, transB: t.transB ?? false,
        }));
        const name = `${variant} case ${i}`;
        assertEquals(matmulSumFuses(gpuTerms), variant === "textures" && fuses, `${name}: one product`);
        const out = matmulSum(gpuTerms);
        const expected = terms
          .map((t, j) => ref.matmul(new Ref(t.a, Float64Array.from(values[j][0])), new Ref(t.b, Float64Array.from(values[j][1])), t))
          .reduce((total, p) => ref.add(total, p));
        assertEquals([...out.shape], expected.shape, `${name} shape`);
        assertClose(await out.floats(), expected.data, { rtol: 1e-5, atol: 1e-5 }, name);
        h.dispose([out, ...gpuTerms.flatMap((t) => [t.a, t.b])]);
      }
    } finally {
      backend.setKernelVariant("matmul", previous);
    }
  });
}

test("matmulSum textures: terms side by side along K are one product", async () => {
  const backend = await h.init();
  const previous = backend.kernels.variants.matmul;
  backend.setKernelVariant("matmul", "textures");
  try {
    const terms: MatrixProduct[] = [
      { a: h.randomNormal([136, 96], { seed: 1 }), b: h.randomNormal([136, 64], { seed: 2 }), transA: true, transB: false },
      { a: h.randomNormal([136, 96], { seed: 3 }), b: h.randomNormal([136, 64], { seed: 4 }), transA: true, transB: false },
    ];
    const { result, report } = await profile(async () => {
      const out = matmulSum(terms);
      await out.data();
      return out;
    });
    const products = report.kernels.find((k) => k.name === "matmul_texture.matmul_texture");
    assertEquals(products?.dispatches, 1, "matmul_texture dispatches");
    // Both transposed operands are packed by one dispatch; the B operands (rows of 64 floats) are copied.
    const packs = report.kernels.filter((k) => k.name.startsWith("matmul_texture.matmul_pack"));
    assertEquals(packs.map((k) => [k.name, k.dispatches]), [["matmul_texture.matmul_pack_pair", 1]], "pack dispatches");
    h.dispose([result, ...terms.flatMap((t) => [t.a, t.b])]);
  } finally {
    backend.setKernelVariant("matmul", previous);
  }
});

/** w is read by two products, x·wᵀ and tanh(·)·w: its gradient has two product cotangents. */
const loss = ([x, w]: h.Tensor[]) => h.sum(h.square(h.matmul(h.tanh(h.matmul(x, w, { transB: true })), w)));

test("grad: a parameter's product cotangents are one matmulSum on textures, at every order, and nothing is left", async () => {
  const backend = await h.init();
  const previous = backend.kernels.variants.matmul;
  const x = h.randomNormal([8, 6], { seed: 5 });
  const w = h.mul(h.randomNormal([4, 6], { seed: 6 }), 0.5);
  const results: Record<string, Float32Array[]> = {};
  try {
    for (const variant of ["textures", "registers"] as const) {
      backend.setKernelVariant("matmul", variant);
      const { values, primitives } = await recordedGradients(loss, [x, w], 1, variant);
      assertEquals(primitives.has("matmulSum"), variant === "textures", `matmulSum ran (${variant})`);
      results[variant] = values;
    }
    for (const [i, g] of results.textures.entries()) {
      assert(g.every(Number.isFinite), `gradient ${i} is finite`);
      // The two variants round their sums differently (second-order values reach ~20 here).
      assertClose(g, results.registers[i], { rtol: 1e-4, atol: 1e-4 }, `gradient ${i}: textures vs registers`);
    }
  } finally {
    backend.setKernelVariant("matmul", previous);
    h.dispose([x, w]);
  }
});
