import * as h from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import { BindGroupCache } from "../../src/backend/bind_groups.ts";
import { assert, assertEquals, test } from "../harness.ts";

test("bind groups are reused for the same pipeline, parameter range and buffers, and made anew otherwise", async () => {
  const backend = await h.init();
  const device = backend.device;
  const code = `@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> x: array<u32>;
@compute @workgroup_size(1) fn main() { x[0] = p[0]; }`;
  const makePipeline = () => device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code }), entryPoint: "main" } });
  const [pipeline, another] = [makePipeline(), makePipeline()];
  const usage = GPUBufferUsage.STORAGE;
  const [params, a, b] = [512, 16, 16].map((size) => device.createBuffer({ size, usage }));
  const cache = new BindGroupCache(device);
  const first = cache.get(pipeline, params, 0, 4, [a]);
  assert(cache.get(pipeline, params, 0, 4, [a]) === first, "same arguments: the same bind group");
  for (const other of [cache.get(pipeline, params, 0, 4, [b]), cache.get(pipeline, params, 256, 4, [a]), cache.get(another, params, 0, 4, [a])]) {
    assert(other !== first, "another buffer, offset or pipeline: another bind group");
  }
  cache.clear();
  assert(cache.get(pipeline, params, 0, 4, [a]) !== first, "after clear(): made anew");
  for (const buffer of [params, a, b]) buffer.destroy();
});

test("a training loop's steps reuse their bind groups (the pool hands out the same buffers again)", async () => {
  await h.init();
  const x = h.randomNormal([4, 8], { seed: 1 });
  let w = h.randomNormal([8, 3], { seed: 2 });
  const loss = (v: h.Tensor) => h.sum(h.square(h.matmul(h.tanh(x), v)));
  const device = engine.backend.device;
  const created = device.createBindGroup;
  let calls = 0;
  device.createBindGroup = (descriptor: GPUBindGroupDescriptor) => (calls++, created.call(device, descriptor));
  const perStep: number[] = [];
  try {
    for (let step = 0; step < 8; step++) {
      calls = 0;
      const next = h.tidy(() => h.sub(w, h.mul(h.grad(loss)(w), 0.01)));
      await engine.backend.sync();
      w.dispose();
      w = next;
      perStep.push(calls);
    }
  } finally {
    device.createBindGroup = created;
  }
  assert(perStep[0] > 0, "the first step makes bind groups");
  assertEquals(perStep[perStep.length - 1], 0, `bind groups made per step: ${perStep}`);
  h.dispose([x, w]);
});
