/**
 * Every matmul kernel variant against the float64 reference, on shapes that are not tile
 * multiples, every transpose combination, and a broadcast batch on either side.
 */
import { init, KERNEL_VARIANTS, matmul, tensor } from "../../src/mod.ts";
import { assertClose, test } from "../harness.ts";
import { Ref, ref } from "../support/reference.ts";
import { seededValues } from "../support/random.ts";

interface Case {
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
}

const CASES: Case[] = [
  { a: [1, 1], b: [1, 1] },
  { a: [17, 5], b: [5, 33] },
  { a: [65, 67], b: [67, 130] },
  { a: [67, 65], b: [67, 130], transA: true },
  { a: [65, 67], b: [130, 67], transB: true },
  { a: [67, 65], b: [130, 67], transA: true, transB: true },
  { a: [3, 9, 6], b: [6, 70] },
  { a: [6, 5], b: [2, 3, 6, 7], transA: true },
  { a: [2, 3, 4, 5], b: [2, 3, 7, 5], transB: true },
  { a: [64, 3], b: [3, 64] },
  { a: [8, 0], b: [0, 9] },
  // Row lengths that are multiples of 64 take the texture variant's copy path; the second
  // product reuses the first one's staging textures, whose rows 40..63 are then stale.
  { a: [64, 64], b: [64, 128] },
  { a: [40, 64], b: [64, 128] },
  { a: [2, 5, 64], b: [64, 64] },
  { a: [70, 64], b: [3, 70, 64], transA: true },
];

for (const variant of KERNEL_VARIANTS.matmul) {
  test(`matmul ${variant}: odd shapes, transposes and broadcast batches match float64`, async () => {
    const backend = await init();
    const previous = backend.kernels.variants.matmul;
    backend.setKernelVariant("matmul", variant);
    try {
      for (const [i, c] of CASES.entries()) {
        const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
        const av = seededValues(size(c.a), 2 * i + 1);
        const bv = seededValues(size(c.b), 2 * i + 2);
        const options = { transA: c.transA ?? false, transB: c.transB ?? false };
        const a = tensor(av, c.a);
        const b = tensor(bv, c.b);
        const out = matmul(a, b, options);
        const expected = ref.matmul(new Ref(c.a, Float64Array.from(av)), new Ref(c.b, Float64Array.from(bv)), options);
        const got = await out.floats();
        const name = `${variant} [${c.a}]${c.transA ? "ᵀ" : ""}·[${c.b}]${c.transB ? "ᵀ" : ""}`;
        assertClose([...out.shape], expected.shape, { rtol: 0, atol: 0 }, `${name} shape`);
        assertClose(got, expected.data, { rtol: 1e-5, atol: 1e-5 }, name);
        for (const t of [a, b, out]) t.dispose();
      }
    } finally {
      backend.setKernelVariant("matmul", previous);
    }
  });
}
