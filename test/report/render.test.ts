/** The report from a run kept in memory (as the browser keeps runs in OPFS): no file system involved. */
import { MemoryStorage, writeText } from "../../src/run/storage.ts";
import { readReportData, renderReport } from "../../src/report/mod.ts";
import { assert, assertEquals, test } from "../harness.ts";

test("report: built from any run storage, in either runtime", async () => {
  const storage = new MemoryStorage();
  await writeText(storage, "config.json", JSON.stringify({ members: [{ name: "plain" }, { name: "harmonized" }] }));
  const lines = ["plain", "harmonized"].flatMap((member, k) => [1, 2].map((step) => ({
    type: "step", member, step, epoch: 0, lr: 0.1, total: step + k, crossEntropy: 1, harmonization: k, weightL2: 5, imagesPerSecond: 1, time: "t",
  })));
  await writeText(storage, "metrics.jsonl", lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  const html = renderReport(await readReportData(storage, "lab run"));
  assert(html.startsWith("<!doctype html>") && html.includes("<title>lab run</title>"), "a page");
  const totals = [...html.matchAll(/data-series="(\w+)" data-values="([^"]*)"/g)].slice(0, 2).map((m) => [m[1], m[2]]);
  assertEquals(totals, [["plain", "1,1;2,2"], ["harmonized", "1,2;2,3"]]);
});
