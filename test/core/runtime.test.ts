import * as h from "../../src/mod.ts";
import { Backend } from "../../src/backend/backend.ts";
import { assert, assertEquals, test } from "../harness.ts";

test("the backend reports its adapter and the limits it raised", async () => {
  const backend = await h.init();
  const info = backend.adapter;
  assert(typeof info.description === "string", "description is a string");
  assert(info.limits.maxStorageBufferBindingSize >= 128 << 20, `binding size ${info.limits.maxStorageBufferBindingSize}`);
  assert(info.limits.maxComputeWorkgroupStorageSize >= 16384, "workgroup storage");
  assertEquals(backend.limits.maxStorageBufferBindingSize, info.limits.maxStorageBufferBindingSize);
});

test("device loss reaches the caller's listener and later ops fail clearly", async () => {
  // A second backend, so the shared one used by other tests stays alive.
  const backend = await Backend.create();
  const lost = new Promise<string>((resolve) => backend.onDeviceLost((info) => resolve(info.reason)));
  backend.device.destroy();
  assertEquals(await lost, "destroyed");
  let message = "";
  try {
    backend.flush();
    backend.dispatch({ shader: "fill", entry: "fill", params: Uint32Array.of(0, 0), buffers: [], workgroups: [1] });
  } catch (e) {
    message = (e as Error).message;
  }
  assert(/WebGPU device lost \(destroyed\)/.test(message), `message: ${message}`);
});
