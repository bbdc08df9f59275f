// Deno file sources and shard globs (`*`, `?` in the last path segment).

import type { ByteSource } from "./source.ts";

export function fileSource(path: string): ByteSource {
  return {
    name: path,
    async open() {
      const file = await Deno.open(path, { read: true });
      return file.readable;
    },
  };
}

const naturalOrder = new Intl.Collator(undefined, { numeric: true }).compare;

/** Files matching a pattern whose last segment may hold `*` and `?`, in natural order (2 before 10). */
export async function globFiles(pattern: string): Promise<string[]> {
  const slash = pattern.lastIndexOf("/");
  const dir = slash >= 0 ? pattern.slice(0, slash) || "/" : ".";
  const leaf = pattern.slice(slash + 1);
  if (!/[*?]/.test(leaf)) return [pattern];
  const regex = new RegExp(
    "^" + leaf.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$",
  );
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && regex.test(entry.name)) names.push(entry.name);
  }
  if (names.length === 0) throw new Error(`no shard matches ${pattern}`);
  return names.sort(naturalOrder).map((name) => (slash >= 0 ? `${pattern.slice(0, slash)}/${name}` : name));
}
