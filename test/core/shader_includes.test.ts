import { expandIncludes } from "../../src/backend/shader_sources.ts";
import { assertEquals, assertRejects, test } from "../harness.ts";

const LIBRARY: Record<string, string> = {
  a: "fn a() {}",
  b: '#include "lib/a.wgsl"\nfn b() { a(); }',
  loop: '#include "lib/loop.wgsl"',
};
const read = (name: string) => name in LIBRARY ? Promise.resolve(LIBRARY[name]) : Promise.reject(new Error(`no lib/${name}.wgsl`));

test("shader includes: each piece once, nested ones first, the rest of the file untouched", async () => {
  const source = '// header\n#include "lib/b.wgsl"\n#include "lib/a.wgsl"\nfn main() { b(); }';
  assertEquals(await expandIncludes("k", source, read), "// header\nfn a() {}\nfn b() { a(); }\nfn main() { b(); }");
});

test("shader includes: a malformed directive, a cycle or a missing piece is an error naming the place", async () => {
  await assertRejects(() => expandIncludes("k", 'fn f() {}\n#include "a.wgsl"', read), /^k\.wgsl:2: expected #include "lib\/NAME\.wgsl"/);
  await assertRejects(() => expandIncludes("k", '#include "lib/loop.wgsl"', read), /^lib\/loop\.wgsl:1: lib\/loop\.wgsl includes itself \(loop → loop\)$/);
  await assertRejects(() => expandIncludes("k", '#include "lib/nope.wgsl"', read), /no lib\/nope\.wgsl/);
});
