/** `deno task harmonize` (the documented entry point) reaches the CLI and lists its commands. */
import { assert, assertEquals, test } from "../harness.ts";

test("cli: `deno task harmonize help` lists the commands", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), { args: ["task", "harmonize", "help"], cwd: root, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  for (const command of ["shards", "train", "parity"]) assert(text.includes(`  ${command} `), `help lists ${command}:\n${text}`);
});

test("cli: npm start and npm run harmonize reach the CLI through bin/harmonize.mjs, with no global Deno", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const scripts = JSON.parse(await Deno.readTextFile(`${root}/package.json`)).scripts;
  assertEquals([scripts.start, scripts.harmonize], ["node bin/harmonize.mjs train", "node bin/harmonize.mjs"]);
  const path = (Deno.env.get("PATH") ?? "").split(":").filter((dir) => !dir.includes("node_modules")).join(":");
  const out = await new Deno.Command("node", { args: ["bin/harmonize.mjs", "train", "--help"], cwd: root, stdout: "piped", stderr: "piped", env: { PATH: path } }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assert(new TextDecoder().decode(out.stdout).startsWith("usage: harmonize train"), "train's usage");
});
