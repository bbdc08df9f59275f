import * as h from "../../src/mod.ts";
import { assertEquals, assertRejects, assertThrows, test } from "../harness.ts";

test("shape errors name the op and the shapes, before anything is dispatched", async () => {
  await h.init();
  const a = h.ones([2, 3]);
  const b = h.ones([4, 5]);
  const live = h.memory().liveBuffers;
  assertThrows(() => h.add(a, b), /add: shapes \[2,3\], \[4,5\] do not broadcast/);
  assertThrows(() => h.matmul(a, b), /matmul: inner dimensions 3 and 4 differ \(a \[2, 3\], b \[4, 5\]\)/);
  assertThrows(() => h.reshape(a, [4, 2]), /reshape: cannot view \[2, 3\] as \[4, 2\]/);
  assertThrows(() => h.slice(a, [1, 0], [2, 3]), /slice: begin \[1,0\] size \[2,3\] is outside \[2, 3\]/);
  assertThrows(() => h.sum(a, 2), /sum: axis 2 is out of range for rank 2/);
  assertThrows(() => h.permute(a, [0, 0]), /permute: \[0,0\] is not a permutation/);
  assertThrows(() => h.tensor([1, 2, 3], [2, 2]), /tensor: 3 values do not fill shape \[2, 2\]/);
  // Only the scalar-free failures above ran: nothing was allocated by them.
  assertEquals(h.memory().liveBuffers, live);
  h.dispose([a, b]);
});

test("using a disposed tensor is an error naming the op", async () => {
  await h.init();
  const a = h.ones([3]);
  a.dispose();
  assertThrows(() => h.exp(a), /exp: tensor Tensor\(float32, \[3\]\) was disposed/);
  await assertRejects(() => a.data(), /data: tensor .* was disposed/);
});

test("an output beyond the device's binding limit is refused before allocation", async () => {
  const backend = await h.init();
  const limit = backend.limits.maxStorageBufferBindingSize;
  const elements = Math.floor(limit / 4) + 1024;
  assertThrows(() => h.zeros([elements]), new RegExp(`zeros: output \\[${elements}\\] needs ${elements * 4} bytes, over this device's maxStorageBufferBindingSize`));
});

test("grad rejects non-scalar outputs with a clear message", async () => {
  await h.init();
  const x = h.ones([2]);
  assertThrows(() => h.grad((v: h.Tensor) => h.exp(v))(x), /grad: the function must return a float32 scalar/);
  x.dispose();
});
