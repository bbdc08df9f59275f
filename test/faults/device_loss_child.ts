// Run by device_loss.deno.test.ts in its own process (losing the device must not touch the suite's):
// trains a tiny run to disk, destroys the WebGPU device in the middle of a step, reports the error,
// then opens a new device and resumes the run from its last checkpoint to the end.
// Usage: deno run -A test/faults/device_loss_child.ts <run folder>

import * as h from "../../src/mod.ts";
import { FileStorage } from "../../src/run/file_storage.ts";
import { Run } from "../../src/run/mod.ts";
import { tinyConfig, tinyData } from "./tiny_run.ts";

const storage = new FileStorage(Deno.args[0]);
const config = tinyConfig([{ name: "plain", mode: "plain" }, { name: "harmonized", mode: "harmonized" }]);
const backend = await h.init();
const run = await Run.start({ config, data: await tinyData(), storage });
for (let i = 0; i < 3; i++) await run.step();
await run.checkpoint("interval");
await run.step();
const lost = run.step();
backend.device.destroy();
try {
  await lost;
  await run.step();
  console.log("no error after the device was lost");
} catch (e) {
  console.log(`lost: ${(e as Error).message}`);
}
await run.close();
h.shutdown();

await h.init();
const resumed = await Run.resume({ config, data: await tinyData(), storage });
console.log(`resumed at step ${resumed.position.step}`);
while (await resumed.step());
await resumed.checkpoint("end");
console.log(`finished at step ${resumed.position.step}`);
await resumed.close();
resumed.dispose();
h.shutdown();
