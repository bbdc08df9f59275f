/**
 * The README's TypeScript examples run as printed and print what their comments claim: each
 * `console.log(...)  // <claim>` line's output must match its claim (numbers to the digits shown).
 */
import { assert, assertEquals, test } from "../harness.ts";
import { ROOT, splitFences } from "./markdown.ts";

/** The numbers in a printed line or a claim, each rounded as the claim writes it; −0 is 0. */
function numbers(text: string): number[] {
  return [...text.matchAll(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/g)].map((m) => Number(m[0]));
}

function decimals(claim: string): number {
  const m = /\.(\d+)/.exec(claim);
  return m ? m[1].length : 0;
}

function agrees(printed: string, claim: string): boolean {
  if (!/^\[?-?\d/.test(claim)) return printed.trim() === claim.trim();
  const got = numbers(printed.replace(/^[A-Za-z0-9]*\(\d+\)\s*/, ""));
  const want = numbers(claim);
  const step = 10 ** -decimals(claim);
  return got.length === want.length && got.every((v, i) => Math.abs(v - want[i]) <= step / 2 + 1e-12);
}

/** One entry per console.log call: Deno continues a long value on indented lines and closing brackets. */
function records(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split("\n")) {
    if (line === "") continue;
    if (out.length > 0 && /^(\s|[\]}])/.test(line)) out[out.length - 1] += ` ${line.trim()}`;
    else out.push(line);
  }
  return out;
}

const readme = await Deno.readTextFile(new URL("README.md", ROOT));
const examples = splitFences(readme).fences.filter((f) => f.lang === "ts" || f.lang === "typescript");

test("docs: the README has a TypeScript example", () => {
  assert(examples.length > 0, "no ```ts block in README.md");
});

examples.forEach((example, index) => {
  test(`docs: README example ${index + 1} runs and prints what its comments say`, async () => {
    const claims = [...example.body.matchAll(/console\.log\(.*\);\s*\/\/\s*(.+)$/gm)].map((m) => m[1]);
    const file = await Deno.makeTempFile({ dir: ROOT.pathname, prefix: ".readme_example_", suffix: ".ts" });
    try {
      await Deno.writeTextFile(file, example.body);
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-env", file],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decode = (b: Uint8Array) => new TextDecoder().decode(b);
      assertEquals(run.code, 0, decode(run.stderr));
      const printed = records(decode(run.stdout));
      assertEquals(printed.length, claims.length, `printed lines vs claims:\n${printed.join("\n")}`);
      claims.forEach((claim, i) => assert(agrees(printed[i], claim), `line ${i + 1}: printed ${printed[i]}, README says ${claim}`));
    } finally {
      await Deno.remove(file);
    }
  });
});
