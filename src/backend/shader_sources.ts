/**
 * The WGSL kernel families in shaders/. Both runtimes fetch the same files once at start-up
 * (Deno reads file: URLs through fetch, browsers get them from the page's server), so the
 * source can never go stale; a test checks this list against the folder. A line
 * `#include "lib/NAME.wgsl"` is replaced by shaders/lib/NAME.wgsl (once per kernel file, however
 * often it is asked for): code the kernels share is written once there.
 */
export const SHADER_FILES = [
  "unary",
  "binary",
  "gelu_pair",
  "add_n",
  "sum_products",
  "where",
  "reduce",
  "matmul",
  "matmul_texture",
  "movement",
  "gather",
  "fill",
  "cast",
  "random",
  "blur",
  "attention",
  "attention_backward",
  "attention_double_backward",
  "layer_norm",
  "conv2d",
  "conv2d_texture",
  "pool",
  "batch_norm",
  "optimizer",
] as const;

export type ShaderName = typeof SHADER_FILES[number];
export type ShaderSources = Record<ShaderName, string>;

export function shaderUrl(name: string): URL {
  return new URL(`../../shaders/${name}.wgsl`, import.meta.url);
}

/** A shared piece, shaders/lib/NAME.wgsl. */
export function shaderLibraryUrl(name: string): URL {
  return new URL(`../../shaders/lib/${name}.wgsl`, import.meta.url);
}

async function fetchText(url: URL): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`cannot load shader ${url}: ${(e as Error).message}`);
  }
  if (!response.ok) throw new Error(`cannot load shader ${url}: HTTP ${response.status}`);
  return await response.text();
}

const INCLUDE = /^#include\s+"lib\/([a-z0-9_]+)\.wgsl"\s*$/;

/**
 * Replaces every `#include "lib/NAME.wgsl"` line of `source` (named `file` in errors) with that
 * piece, itself expanded; a piece already included is left out, a cycle of includes is an error.
 */
export async function expandIncludes(file: string, source: string, readLibrary: (name: string) => Promise<string>): Promise<string> {
  const included = new Set<string>();
  const expand = async (where: string, text: string, chain: string[]): Promise<string> => {
    const lines = text.split("\n");
    const out: string[] = [];
    for (const [i, line] of lines.entries()) {
      if (!line.startsWith("#")) {
        out.push(line);
        continue;
      }
      const name = INCLUDE.exec(line)?.[1];
      if (!name) throw new Error(`${where}:${i + 1}: expected #include "lib/NAME.wgsl", got ${JSON.stringify(line)}`);
      if (chain.includes(name)) throw new Error(`${where}:${i + 1}: lib/${name}.wgsl includes itself (${[...chain, name].join(" → ")})`);
      if (included.has(name)) continue;
      included.add(name);
      out.push(await expand(`lib/${name}.wgsl`, await readLibrary(name), [...chain, name]));
    }
    return out.join("\n");
  };
  return await expand(`${file}.wgsl`, source, []);
}

export async function loadShaderSources(): Promise<ShaderSources> {
  const library = new Map<string, Promise<string>>();
  const readLibrary = (name: string) => {
    if (!library.has(name)) library.set(name, fetchText(shaderLibraryUrl(name)));
    return library.get(name)!;
  };
  const entries = await Promise.all(SHADER_FILES.map(async (name) => {
    return [name, await expandIncludes(name, await fetchText(shaderUrl(name)), readLibrary)] as const;
  }));
  return Object.fromEntries(entries) as ShaderSources;
}
