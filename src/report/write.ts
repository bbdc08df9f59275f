/** Writing a run folder's report.html (Deno). */
import { FileStorage } from "../run/file_storage.ts";
import { writeText } from "../run/storage.ts";
import { readReportData } from "./run_data.ts";
import { renderReport } from "./html.ts";

/** (Re)writes RUN/report.html from config.json, metrics.jsonl and inspection/<member>.json; returns its path. */
export async function writeReport(runDir: string): Promise<string> {
  const dir = runDir.replace(/(.)\/+$/, "$1");
  const storage = new FileStorage(dir);
  const html = renderReport(await readReportData(storage, `Harmonize run ${dir.split("/").pop()}`));
  await writeText(storage, "report.html", html);
  return storage.describe("report.html");
}

/** Writes a file anywhere atomically (temporary file + rename, as run folders are written). */
export function writeFileAtomic(path: string, text: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  return writeText(new FileStorage(slash < 0 ? "." : path.slice(0, slash)), path.slice(slash + 1), text);
}
