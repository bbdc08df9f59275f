/**
 * The documentation names only what exists: every relative link in README.md and docs/ (pages added
 * later included) reaches a file and, with #anchor, a heading; every repository path written in
 * backticks or code blocks exists; every `docs/<page>.md §N` or `docs/<page>.md#anchor` reference in
 * the code reaches a heading; nothing refers to files that are not in the repository.
 */
import { assert, test } from "../harness.ts";
import { anchors, markdownPages, ROOT, sectionNumbers, splitFences } from "./markdown.ts";

const PATH_ROOTS = ["src", "shaders", "test", "bench", "demos", "docs", ".ci"];
/** Folders whose text files may cite the docs. */
const CODE_ROOTS = ["src", "test", "bench", "demos", "shaders", ".ci", "docs"];
const CODE_EXTENSIONS = /\.(ts|mjs|js|wgsl|py|html|md)$|^\.ci\/run$/;
const SKIPPED_DIRS = new Set(["node_modules", "dist", "out", "fixtures"]);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(new URL(path, ROOT));
    return true;
  } catch {
    return false;
  }
}

async function read(path: string): Promise<string> {
  return await Deno.readTextFile(new URL(path, ROOT));
}

/** `a/{b,c}/d` → `a/b/d`, `a/c/d`. */
function expandBraces(pattern: string): string[] {
  const m = /\{([^{}]*)\}/.exec(pattern);
  if (!m) return [pattern];
  return m[1].split(",").flatMap((option) => expandBraces(pattern.slice(0, m.index) + option + pattern.slice(m.index + m[0].length)));
}

/** Whether a path with `*` wildcards (within one segment) matches at least one file or folder. */
async function globExists(pattern: string): Promise<boolean> {
  const segments = pattern.replace(/\/$/, "").split("/");
  const search = async (dir: string, i: number): Promise<boolean> => {
    if (i === segments.length) return true;
    const segment = segments[i];
    if (!segment.includes("*")) return await exists(dir + segment) && await search(`${dir}${segment}/`, i + 1);
    const re = new RegExp(`^${segment.replace(/[.+?^$()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);
    try {
      for await (const entry of Deno.readDir(new URL(dir || ".", ROOT))) {
        if (re.test(entry.name) && await search(`${dir}${entry.name}/`.replace(/\/$/, i + 1 === segments.length ? "" : "/"), i + 1)) return true;
      }
    } catch {
      return false;
    }
    return false;
  };
  return await search("", 0);
}

/** Repository paths a page names in inline code or code blocks (not URLs, not placeholders). */
function namedPaths(text: string): string[] {
  const { fences, prose } = splitFences(text);
  const code = [...[...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]), ...fences.map((f) => f.body)].join("\n");
  const re = new RegExp(`(?<![\\w./:@-])(?:${PATH_ROOTS.map((r) => r.replace(".", "\\.")).join("|")})/[\\w./*{},-]*`, "g");
  return [...code.matchAll(re)].map((m) => m[0].replace(/[.,:;]+$/, "")).filter((p) => !/[<>$…]/.test(p));
}

const pages = await markdownPages();

/** Folders that .gitignore marks as outputs (`/test/out/`, `/runs/`): a page may name what lands there. */
const OUTPUT_DIRS = (await read(".gitignore")).split("\n").map((l) => l.trim())
  .filter((l) => /^\/[\w./-]+\/$/.test(l)).map((l) => l.slice(1));

for (const page of pages) {
  test(`docs: every relative link in ${page} reaches a file and heading`, async () => {
    const text = await read(page);
    const { prose } = splitFences(text);
    const broken: string[] = [];
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue; // http:, https:, mailto:
      const [file, anchor] = target.split("#");
      const path = file ? new URL(file, new URL(page, ROOT)).pathname.slice(ROOT.pathname.length) : page;
      if (!(await exists(path))) broken.push(`${target} (no file ${path})`);
      else if (anchor && path.endsWith(".md") && !anchors(await read(path)).has(anchor)) broken.push(`${target} (no heading #${anchor} in ${path})`);
    }
    assert(broken.length === 0, `${page}: broken links: ${broken.join("; ")}`);
  });

  test(`docs: every repository path named in ${page} exists`, async () => {
    const missing: string[] = [];
    for (const path of new Set(namedPaths(await read(page)))) {
      if (OUTPUT_DIRS.some((dir) => path.startsWith(dir))) continue;
      const found = await Promise.all(expandBraces(path).map(globExists));
      if (!found.every(Boolean)) missing.push(path);
    }
    assert(missing.length === 0, `${page} names paths that do not exist: ${missing.join(", ")}`);
  });
}

async function codeFiles(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory && !SKIPPED_DIRS.has(entry.name)) await walk(`${path}/`);
      else if (entry.isFile && CODE_EXTENSIONS.test(path)) out.push(path);
    }
  };
  for (const root of CODE_ROOTS) if (await exists(root)) await walk(`${root}/`);
  return [...out, "README.md"];
}

test("docs: every `docs/<page>.md §N` and `#anchor` reference in the code reaches a heading", async () => {
  const broken: string[] = [];
  for (const file of await codeFiles()) {
    const text = await read(file);
    for (const m of text.matchAll(/docs\/([\w./-]+\.md)(?:\s*§\s*(\d+(?:\.\d+)*)(?:\s*[–-]\s*(\d+(?:\.\d+)*))?|#([\w-]+))?/g)) {
      const [, page, from, to, anchor] = m;
      const path = `docs/${page}`;
      if (!(await exists(path))) {
        broken.push(`${file}: ${m[0]} (no such page)`);
        continue;
      }
      const target = await read(path);
      const sections = sectionNumbers(target);
      for (const n of [from, to]) if (n && !sections.has(n)) broken.push(`${file}: ${m[0]} (no section ${n} in ${path})`);
      if (anchor && !anchors(target).has(anchor)) broken.push(`${file}: ${m[0]} (no heading #${anchor} in ${path})`);
    }
  }
  assert(broken.length === 0, `references to missing sections:\n${broken.join("\n")}`);
});

// Files that are not in the repository, machine paths, and the old way of citing the specification.
const FORBIDDEN: [RegExp, string][] = [
  [/SPEC\s*§|SPEC\.md|\bthe SPEC\b/, "the specification is docs/harmonization.md"],
  [/\.\.\/shared\b/, "a folder outside the repository"],
  [/(?<![\w/])bench\.md\b/, "no such file: benchmarks are docs/benchmarks.md"],
  [/(?<![\w/_])sample\.ts\b/, "no such file"],
  [/(?<![\w.:~-])\/(work|home|root)\//, "a path on one machine"],
];

test("docs: nothing refers to files outside the repository, to machine paths or to the old SPEC", async () => {
  const self = new URL(import.meta.url).pathname.slice(ROOT.pathname.length);
  const found: string[] = [];
  for (const file of await codeFiles()) {
    if (file === self) continue;
    const lines = (await read(file)).split("\n");
    lines.forEach((line, i) => {
      for (const [re, why] of FORBIDDEN) if (re.test(line)) found.push(`${file}:${i + 1}: ${line.trim()} (${why})`);
    });
  }
  assert(found.length === 0, `stale references:\n${found.join("\n")}`);
});

test("docs: the imports of every TypeScript example in docs/ name real exports", async () => {
  const imports: string[] = [];
  for (const page of pages) {
    for (const fence of splitFences(await read(page)).fences) {
      if (fence.lang !== "ts") continue;
      for (const m of fence.body.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"\.\/([^"]+)";/gm)) {
        const names = m[1].split(",").map((n) => n.trim()).filter(Boolean);
        const module = `m${imports.length}`;
        imports.push(`import type * as ${module} from "./${m[2]}";`);
        const types = names.map((n) => n.startsWith("type ") ? `${module}.${n.slice(5).trim()}` : `typeof ${module}.${n}`);
        imports.push(`export type T${imports.length} = [${types.join(", ")}];`);
      }
    }
  }
  const file = await Deno.makeTempFile({ dir: ROOT.pathname, prefix: ".docs_imports_", suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, imports.join("\n") + "\n");
    const check = await new Deno.Command(Deno.execPath(), { args: ["check", "--quiet", file], stdout: "piped", stderr: "piped" }).output();
    assert(check.code === 0, `an example imports what its module does not export:\n${new TextDecoder().decode(check.stderr)}`);
  } finally {
    await Deno.remove(file);
  }
});
