import * as h from "../../src/mod.ts";
import { assertClose, assertEquals, test } from "../harness.ts";

test("argmax picks the first maximum, along any axis", async () => {
  await h.init();
  const x = h.tensor([1, 5, 5, 2, 9, 0, 9, 3, 0, 0, 0, 0], [3, 4]);
  assertEquals(Array.from(await h.argmax(x, 1).data()), [1, 0, 0]);
  assertEquals(Array.from(await h.argmax(x, 0).data()), [1, 0, 1, 1]);
  const long = h.tensor(Float32Array.from({ length: 1000 }, (_, i) => (i === 777 || i === 901 ? 5 : Math.sin(i))), [1, 1000]);
  assertEquals(Array.from(await h.argmax(long, 1).data()), [777]);
});

test("cast, arange and oneHot", async () => {
  await h.init();
  assertEquals(Array.from(await h.cast(h.tensor([1.9, -1.9, 3]), "int32").data()), [1, -1, 3]);
  assertEquals(Array.from(await h.arange(5, "int32").data()), [0, 1, 2, 3, 4]);
  assertClose(await h.oneHot(h.tensor(Int32Array.of(2, 0)), 3).data(), [0, 0, 1, 1, 0, 0]);
  const big = h.arange(70000);
  const data = await big.data();
  assertEquals([data[0], data[69999]], [0, 69999]);
});

test("gather of an out-of-range index gives NaN; scatterAdd drops it", async () => {
  await h.init();
  const x = h.tensor([1, 2, 3], [3]);
  const g = await h.gather(x, h.tensor(Int32Array.of(0, 3, -1, 2)), 0).data();
  assertEquals(Array.from(g).map((v) => (Number.isNaN(v) ? "NaN" : v)), [1, "NaN", "NaN", 3]);
  const s = await h.scatterAdd(h.tensor([1, 2, 4]), h.tensor(Int32Array.of(1, 5, 1)), 0, 3).data();
  assertEquals(Array.from(s), [0, 5, 0]);
});
