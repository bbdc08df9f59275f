import { SHADER_FILES } from "../../src/backend/shader_sources.ts";
import { assert, assertEquals, test } from "../harness.ts";

test("every WGSL file in shaders/ is listed for loading, and every listed one exists", async () => {
  const onDisk: string[] = [];
  for await (const entry of Deno.readDir(new URL("../../shaders/", import.meta.url))) {
    if (entry.name.endsWith(".wgsl")) onDisk.push(entry.name.replace(/\.wgsl$/, ""));
  }
  assertEquals([...onDisk].sort(), [...SHADER_FILES].sort());
});

test("every shader opens with a comment giving its bindings", async () => {
  for (const name of SHADER_FILES) {
    const text = await Deno.readTextFile(new URL(`../../shaders/${name}.wgsl`, import.meta.url));
    assert(text.startsWith("//"), `${name}.wgsl opens with a comment`);
    const header = text.split("\n").filter((_, i, lines) => lines.slice(0, i + 1).every((l) => l.startsWith("//"))).join("\n");
    assert(/\bBindings?\b/i.test(header), `${name}.wgsl documents its bindings in its opening comment`);
    assert(/workgroup/i.test(header), `${name}.wgsl documents its workgroup size in its opening comment`);
  }
});

test("every shared piece in shaders/lib/ opens with a comment and is included by a kernel", async () => {
  const kernels = await Promise.all(SHADER_FILES.map((name) => Deno.readTextFile(new URL(`../../shaders/${name}.wgsl`, import.meta.url))));
  const library = new URL("../../shaders/lib/", import.meta.url);
  const pieces = await Promise.all([...Deno.readDirSync(library)].map(async (entry) => [entry.name, await Deno.readTextFile(new URL(entry.name, library))]));
  for (const [name, text] of pieces) {
    assert(text.startsWith("//"), `lib/${name} opens with a comment`);
    const directive = `#include "lib/${name}"`;
    assert([...kernels, ...pieces.map(([, t]) => t)].some((t) => t.split("\n").includes(directive)), `lib/${name} is included somewhere`);
  }
});
