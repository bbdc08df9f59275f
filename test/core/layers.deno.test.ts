// The layers of src/ import downward only, and no files import each other in a circle. The import
// graph is Deno's own (`deno info --json`: every static, dynamic and type-only import), not a regex.
import { assert, test } from "../harness.ts";

const SRC = new URL("../../src/", import.meta.url);

/**
 * Each layer may import the layers ranked below it. `core` is the root files (the primitive list,
 * tensor, storage, engine); `io` and `data` stand beside the column: io needs only the core, data
 * the core and the ops. `report` reads what a run wrote (its events and storage), so it sits on `run`.
 * `mod.ts` is the public API and re-exports every layer.
 */
const RANK: Record<string, number> = {
  backend: 0,
  core: 1,
  io: 1.5,
  ops: 2,
  data: 2.5,
  autograd: 3,
  nn: 4,
  models: 5,
  harmonize: 6,
  run: 7,
  report: 8,
  cli: 9,
  api: 10,
};

function layerOf(path: string): string {
  if (path === "mod.ts") return "api";
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : "core";
}

interface DenoInfo {
  modules: { specifier: string; dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[] }[];
}

/** path under src/ → the paths under src/ it imports. */
async function importGraph(): Promise<Map<string, string[]>> {
  const files: string[] = [];
  const walk = async (dir: URL, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`);
      else if (entry.name.endsWith(".ts")) files.push(`${prefix}${entry.name}`);
    }
  };
  await walk(SRC, "");
  const root = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(root, files.map((f) => `import "${new URL(f, SRC).href}";\n`).join(""));
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", root], stdout: "piped", stderr: "piped" }).output();
    assert(code === 0, `deno info failed: ${new TextDecoder().decode(stderr)}`);
    const info: DenoInfo = JSON.parse(new TextDecoder().decode(stdout));
    const graph = new Map<string, string[]>();
    for (const module of info.modules) {
      if (!module.specifier.startsWith(SRC.href)) continue;
      const targets = (module.dependencies ?? []).flatMap((d) => [d.code?.specifier, d.type?.specifier])
        .filter((s): s is string => !!s && s.startsWith(SRC.href)).map((s) => s.slice(SRC.href.length));
      graph.set(module.specifier.slice(SRC.href.length), [...new Set(targets)]);
    }
    assert(graph.size === files.length, `deno info saw ${graph.size} of the ${files.length} files in src/`);
    return graph;
  } finally {
    await Deno.remove(root);
  }
}

test("every folder of src/ has a place in the layer order, and imports go down it", async () => {
  const upward: string[] = [];
  for (const [from, targets] of await importGraph()) {
    const layer = layerOf(from);
    assert(layer in RANK, `src/${from}: the layer "${layer}" is not in the order in test/core/layers.deno.test.ts; add it there`);
    for (const to of targets) {
      const target = layerOf(to);
      if (target !== layer && !(RANK[target] < RANK[layer])) upward.push(`src/${from} (${layer}) imports src/${to} (${target})`);
    }
  }
  assert(upward.length === 0, `imports against the layer order:\n${upward.join("\n")}`);
});

test("no files in src/ import each other in a cycle", async () => {
  const graph = await importGraph();
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next].join(" → "));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  assert(cycles.length === 0, `import cycles:\n${cycles.join("\n")}`);
});
