/**
 * The WGSL kernel families in shaders/. Both runtimes fetch the same files once at start-up
 * (Deno reads file: URLs through fetch, browsers get them from the page's server), so the
 * source can never go stale; a test checks this list against the folder.
 */
export const SHADER_FILES = [
  "unary",
  "binary",
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
  "conv2d",
  "conv2d_texture",
  "pool",
  "batch_norm",
] as const;

export type ShaderName = typeof SHADER_FILES[number];
export type ShaderSources = Record<ShaderName, string>;

export function shaderUrl(name: string): URL {
  return new URL(`../../shaders/${name}.wgsl`, import.meta.url);
}

export async function loadShaderSources(): Promise<ShaderSources> {
  const entries = await Promise.all(SHADER_FILES.map(async (name) => {
    const url = shaderUrl(name);
    let response: Response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new Error(`cannot load shader ${url}: ${(e as Error).message}`);
    }
    if (!response.ok) throw new Error(`cannot load shader ${url}: HTTP ${response.status}`);
    return [name, await response.text()] as const;
  }));
  return Object.fromEntries(entries) as ShaderSources;
}
