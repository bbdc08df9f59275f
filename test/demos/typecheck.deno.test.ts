/** The demos are browser code (DOM + @webgpu/types), outside Deno's own type check: check them here. */
import { assertEquals, test } from "../harness.ts";

test("demos: the harmonization demo type-checks against the DOM and @webgpu/types", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--config", "demos/deno.json", "demos/harmonize/main.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
});
