/** The lab is browser code (DOM, Web Workers, @webgpu/types), outside Deno's own type check: check it here. */
import { assertEquals, test } from "../harness.ts";

test("demos: the browser lab's page, worker and lesson script type-check against the DOM and @webgpu/types", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--config", "demos/deno.json", "demos/lab/main.ts", "demos/lab/worker.ts", "demos/lab/lesson.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
});
