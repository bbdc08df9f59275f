/** Reading the repository's Markdown for the docs tests: which pages, their code and their headings. */

export const ROOT = new URL("../../", import.meta.url);

/** README.md and every page under docs/, relative to the repository root (pages added later included). */
export async function markdownPages(): Promise<string[]> {
  const pages = ["README.md"];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) await walk(`${path}/`);
      else if (entry.name.endsWith(".md")) pages.push(path);
    }
  };
  await walk("docs/");
  return pages.sort();
}

export interface Fence {
  lang: string;
  body: string;
}

/** The fenced code blocks of a page, and its text with them blanked out (line numbers kept). */
export function splitFences(text: string): { fences: Fence[]; prose: string } {
  const fences: Fence[] = [];
  const prose: string[] = [];
  let open: { lang: string; lines: string[] } | null = null;
  for (const line of text.split("\n")) {
    const marker = /^\s*```(\w*)/.exec(line);
    if (marker && !open) {
      open = { lang: marker[1], lines: [] };
      prose.push("");
    } else if (marker && open) {
      fences.push({ lang: open.lang, body: open.lines.join("\n") + "\n" });
      open = null;
      prose.push("");
    } else {
      open?.lines.push(line);
      prose.push(open ? "" : line);
    }
  }
  return { fences, prose: prose.join("\n") };
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
    .replace(/ /g, "-");
}

/** The headings of a page (outside code blocks), as written. */
export function headings(text: string): string[] {
  return [...splitFences(text).prose.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)].map((m) => m[1]);
}

/** Anchors of a page's headings, numbered as GitHub numbers repeated ones (-1, -2, …). */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const heading of headings(text)) {
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** Section numbers of a page's headings: "## 1. The loss" → "1", "### 1.3 Standardise" → "1.3". */
export function sectionNumbers(text: string): Set<string> {
  return new Set(headings(text).flatMap((h) => {
    const m = /^(\d+(?:\.\d+)*)\.?(\s|$)/.exec(h);
    return m ? [m[1]] : [];
  }));
}
