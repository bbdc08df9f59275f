/** `deno task harmonize` (the documented entry point) reaches the CLI and lists its commands. */
import { assert, assertEquals, test } from "../harness.ts";

test("cli: `deno task harmonize help` lists the commands", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), { args: ["task", "harmonize", "help"], cwd: root, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  for (const command of ["shards", "train", "parity"]) assert(text.includes(`  ${command} `), `help lists ${command}:\n${text}`);
});
