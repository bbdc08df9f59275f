/** Writing a run folder's report.html (Deno). */
import { readReportData, type ReportSource } from "./run_data.ts";
import { renderReport } from "./html.ts";

/** A run folder on disk as a ReportSource. */
export function folderSource(runDir: string): ReportSource {
  const describe = (path: string) => (path ? `${runDir}/${path}` : runDir);
  return {
    describe,
    async read(path) {
      try {
        return await Deno.readFile(describe(path));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return null;
        throw new Error(`${describe(path)}: cannot read (${(e as Error).message})`);
      }
    },
  };
}

/** Writes `text` to a temporary file beside `path`, then renames it over `path`. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(temporary, text);
    await Deno.rename(temporary, path);
  } catch (e) {
    await Deno.remove(temporary).catch(() => {});
    throw new Error(`${path}: cannot write (${(e as Error).message})`);
  }
}

/** (Re)writes RUN/report.html from config.json, metrics.jsonl and inspection/<member>.json; returns its path. */
export async function writeReport(runDir: string): Promise<string> {
  const dir = runDir.replace(/(.)\/+$/, "$1");
  const data = await readReportData(folderSource(dir), `Harmonize run ${dir.split("/").pop()}`);
  const path = `${dir}/report.html`;
  await writeTextAtomic(path, renderReport(data));
  return path;
}
