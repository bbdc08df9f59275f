// A WebGPU device lost in the middle of a step (forced with device.destroy(), in a child process
// so that the suite keeps its device): the step fails with a message that names the loss, and a
// new device resumes the run from its last checkpoint to the end.

import { assert, assertEquals, test } from "../harness.ts";
import { ROOT } from "../cli/cli_process.ts";

test("faults: a device lost mid-step is named, and the run resumes on a new device from its last checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "test/faults/device_loss_child.ts", `${dir}/run`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const lines = stdout.trim().split("\n");
    assert(/^lost: WebGPU device lost \(destroyed\)/.test(lines[0]), `the loss is named: ${lines[0]}`);
    // Step 5 was lost with the device; the checkpoint of step 4 (every 2 steps) is where it resumes.
    assertEquals(lines.slice(1), ["resumed at step 4", "finished at step 6"]);
    for (const member of ["plain", "harmonized"]) {
      const latest = JSON.parse(await Deno.readTextFile(`${dir}/run/checkpoints/${member}/latest`));
      assertEquals(latest.step, 6);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
