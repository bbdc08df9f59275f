// `harmonize report RUN`: (re)writes RUN/report.html from the run folder (docs/reports.md).

import { writeReport } from "../report/write.ts";
import { checkFlags, type Command, parseArgs, UsageError } from "./command.ts";

const USAGE = `usage: harmonize report RUN

Writes RUN/report.html, one self-contained HTML file (no network, no scripts), from RUN/config.json,
RUN/metrics.jsonl and RUN/inspection/<member>.json: loss-part curves, validation accuracy and
alignment per evaluation, confusion matrices, a gallery of where each member looks, the pyramid
levels the harmonization term compares, the config and the adapter. harmonize train writes it at
the end of every run; this command regenerates it (e.g. for a run that was stopped).`;

export const reportCommand: Command = {
  summary: "write a run folder's self-contained HTML report (report.html)",
  usage: USAGE,
  async run(args) {
    const parsed = parseArgs(args);
    checkFlags(parsed, []);
    if (parsed.positional.length !== 1) throw new UsageError(`give exactly one run folder, got ${parsed.positional.length}`);
    const runDir = parsed.positional[0];
    const info = await Deno.stat(runDir).catch(() => null);
    if (info && !info.isDirectory) throw new Error(`${runDir}: a file, not a run folder (the folder harmonize train --run wrote)`);
    console.log(`wrote ${await writeReport(runDir)}`);
    return 0;
  },
};
