/**
 * Elementwise kernels four values per thread (the main_vec4 entry points of shaders/binary.wgsl
 * and shaders/unary.wgsl, taken when the size is a multiple of 4) give the same bits as one value
 * per thread: each op runs on 4·k values and on the same values plus one (4·k + 1, one value per
 * thread), and the first 4·k results must be identical. Binary ops also with a one-value operand
 * on either side, and the fused addRelu. Values include ties, zeros and negative bases.
 */
import * as h from "../../src/mod.ts";
import { assertEquals, test } from "../harness.ts";
import { seededValues } from "../support/random.ts";

await h.init();

const COUNT = 4 * 37;
// 3·v rounded to quarters: ties between a and b, exact zeros and integer exponents for pow.
const A = seededValues(COUNT + 1, 11).map((v) => Math.round(12 * v) / 4);
const B = seededValues(COUNT + 1, 12).map((v, i) => (i % 5 === 0 ? A[i] : Math.round(12 * v) / 4));

/** The first COUNT bits of fn over COUNT values (four per thread) and over COUNT + 1 (one). */
async function bothPaths(fn: (a: h.Tensor, b: h.Tensor) => h.Tensor): Promise<[number[], number[]]> {
  const run = async (n: number) => {
    const out = h.tidy(() => fn(h.tensor(A.slice(0, n), [n]), h.tensor(B.slice(0, n), [n])));
    const data = await out.data();
    h.dispose(out);
    return Array.from(new Uint32Array((data as Float32Array).slice(0, COUNT).buffer));
  };
  return [await run(COUNT), await run(COUNT + 1)];
}

const BINARY = [
  "add", "sub", "mul", "div", "pow", "maximum", "minimum", "less", "lessEqual", "greater", "greaterEqual",
  "equal", "notEqual", "reluGrad", "geluGrad", "geluSecondGrad", "addRelu",
] as const;

for (const name of BINARY) {
  const op = (a: h.Tensor, b: h.Tensor) => (name === "addRelu" ? h.addRelu(a, b) : h[name](a, b));
  test(`elementwise vec4: ${name} four per thread gives one per thread's bits`, async () => {
    const [vec4, single] = await bothPaths(op);
    assertEquals(vec4, single, name);
  });
  test(`elementwise vec4: ${name} with a one-value operand gives one per thread's bits`, async () => {
    for (const [side, fn] of [
      ["a", (_: h.Tensor, b: h.Tensor) => op(h.tensor([-1.5], []), b)],
      ["b", (a: h.Tensor) => op(a, h.tensor([2], [1]))],
    ] as const) {
      const [vec4, single] = await bothPaths(fn);
      assertEquals(vec4, single, `${name}, one value as ${side}`);
    }
  });
}

const UNARY = ["neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "tanh", "erf", "relu", "gelu"] as const;

for (const name of UNARY) {
  test(`elementwise vec4: ${name} four per thread gives one per thread's bits`, async () => {
    const [vec4, single] = await bothPaths((a) => h[name](a));
    assertEquals(vec4, single, name);
  });
}
