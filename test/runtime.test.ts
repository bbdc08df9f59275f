// Smoke test for the test infrastructure itself: is there a WebGPU adapter in this runtime, and
// does a trivial compute shader run on it? It runs in Deno and in Chromium (see test/run.mjs).
// The WGSL is inline on purpose: this test checks the runtime, not the library's shader loading.

import { assert, assertEquals, runtime, test } from "./harness.ts";

const NO_ADAPTER_HELP = runtime === "deno"
  ? "no WebGPU adapter: install mesa-vulkan-drivers (Vulkan lavapipe) so Deno's navigator.gpu finds a device; " +
    "set XDG_RUNTIME_DIR (e.g. /tmp) to quiet Mesa"
  : "no WebGPU adapter: run Chromium with --enable-unsafe-webgpu (headless falls back to SwiftShader) " +
    "and serve the page from a secure context such as http://127.0.0.1";

async function requestAdapter(): Promise<GPUAdapter> {
  if (typeof navigator === "undefined" || !("gpu" in navigator) || !navigator.gpu) {
    throw new Error(`${NO_ADAPTER_HELP} (navigator.gpu is undefined in this ${runtime} context)`);
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error(`${NO_ADAPTER_HELP} (navigator.gpu.requestAdapter() returned null)`);
  return adapter;
}

function describeAdapter(adapter: GPUAdapter): Record<string, unknown> {
  const info = adapter.info;
  const limits = adapter.limits;
  return {
    runtime,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    // Newer spec: on GPUAdapterInfo; older: on GPUAdapter.
    isFallbackAdapter: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ??
      (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    features: [...adapter.features].sort(),
  };
}

test("runtime: WebGPU adapter is available", async () => {
  const adapter = await requestAdapter();
  console.log(`[adapter] ${JSON.stringify(describeAdapter(adapter))}`);
  assert(adapter.limits.maxBufferSize > 0, "adapter reports maxBufferSize 0");
});

test("runtime: compute shader doubles 4 floats", async () => {
  const adapter = await requestAdapter();
  const device = await adapter.requestDevice();
  try {
    device.pushErrorScope("validation");
    const module = device.createShaderModule({
      code: /* wgsl */ `
        @group(0) @binding(0) var<storage, read_write> data: array<f32>;
        @compute @workgroup_size(4)
        fn main(@builtin(global_invocation_id) id: vec3<u32>) {
          if (id.x < arrayLength(&data)) {
            data[id.x] = data[id.x] * 2.0;
          }
        }`,
    });
    const input = new Float32Array([1, 2.5, -3, 1024]);
    const storage = device.createBuffer({
      size: input.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(storage, 0, input);
    const readback = device.createBuffer({
      size: input.byteLength,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: storage } }],
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(storage, 0, readback, 0, input.byteLength);
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    assert(error === null, `WebGPU validation error: ${error?.message}`);

    await readback.mapAsync(GPUMapMode.READ);
    const result = Array.from(new Float32Array(readback.getMappedRange().slice(0)));
    readback.unmap();
    storage.destroy();
    readback.destroy();
    assertEquals(result, [2, 5, -6, 2048], "doubled values");
  } finally {
    device.destroy();
  }
});
