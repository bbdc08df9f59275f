/**
 * `harmonize train --profile` prints the profile of one step (after a warm-up step) and trains on:
 * the table's shape (sections, columns, the phases of both members' steps), never its numbers.
 */
import { assert, assertEquals, test } from "../harness.ts";
import { harmonize } from "./cli_process.ts";

test("cli: harmonize train --profile prints one step's profile and trains on", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await harmonize(
      "train", "--synthetic-records", "16", "--size", "16", "--batch-size", "8", "--classes", "3", "--workers", "0",
      "--epochs", "2", "--run", `${dir}/run`, "--profile",
    );
    assertEquals(code, 0, stderr);
    assert(/profile of step 2, load average/.test(stdout), `no profile header in:\n${stdout}`);
    for (const header of ["primitive", "output MiB", "kernel", "bound MiB", "phase", "peak MiB"]) {
      assert(stdout.includes(header), `profile has no "${header}" column`);
    }
    for (const phase of ["forward", "saliency", "double backward", "backward", "optimizer"]) {
      assert(new RegExp(`^${phase} `, "m").test(stdout), `profile has no "${phase}" phase row`);
    }
    const steps = (await Deno.readTextFile(`${dir}/run/metrics.jsonl`)).split("\n").filter((l) => l.includes('"type":"step"'));
    assertEquals(steps.length, 8, "both members trained all 4 steps");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
