/** The README's first example runs as printed and prints the values it claims. */
import { assertEquals, test } from "./harness.ts";

test("README: the gradient-of-a-gradient example prints what the README says", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const block = readme.split("## A first example")[1].split("```ts\n")[1].split("```")[0];
  const claimed = [...block.matchAll(/\/\/ (\[[^\]]+\])/g)].map((m) => m[1]);
  const file = await Deno.makeTempFile({ dir: new URL("..", import.meta.url).pathname, suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, block);
    const deno = Deno.execPath();
    const run = await new Deno.Command(deno, { args: ["run", "--allow-read", "--allow-env", file], stdout: "piped", stderr: "piped" }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    assertEquals(run.code, 0, new TextDecoder().decode(run.stderr));
    const printed = [...stdout.matchAll(/Float32Array\(4\) \[([^\]]+)\]/g)].map((m) =>
      `[${m[1].split(",").map((v) => Number(v).toFixed(4)).join(", ")}]`
    );
    assertEquals(printed, claimed.map((c) => c.replace(/-0\.0000/g, "0.0000")));
  } finally {
    await Deno.remove(file);
  }
});
