/// <reference lib="dom" />
/** The browser demo trains both models in the page and shows their results (Chromium only). */
import { mountDemo } from "../../demos/harmonize/app.ts";
import { assert, test } from "../harness.ts";

test("demo: the harmonization page trains a plain and a harmonized model and draws their maps", async () => {
  const root = document.createElement("div");
  document.body.appendChild(root);
  try {
    const result = await mountDemo(root, { size: 16, classes: 3, recordsPerShard: 16, epochs: 1, batchSize: 8, lr: 0.02, lambdaH: 1 });
    assert(result.steps === 2, `steps ${result.steps}`);
    for (const report of [result.plain, result.harmonized]) {
      assert(report.images === 8 && report.accuracy >= 0 && report.accuracy <= 1, JSON.stringify(report));
    }
    assert(root.querySelectorAll("figure canvas").length === 8 * 2, "gallery: 2 images × (image, people, plain, harmonized)");
    assert(root.querySelectorAll(".pyramid canvas").length === 10, "pyramid: 5 levels × 2 maps");
    assert(root.querySelectorAll("table tr").length === 3, "results table has a row per model");
    assert(/done: 2 steps/.test(root.textContent ?? ""), root.textContent ?? "");
  } finally {
    root.remove();
  }
});
