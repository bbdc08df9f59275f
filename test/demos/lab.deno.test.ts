/**
 * The browser lab end to end: test/demos/lab_flow.mjs builds the site and drives it in headless
 * Chromium (start, pause, resume, λ change, painting and painted targets, reload → resume, device
 * loss → a bit-exact recovery, download → upload, shards from disk, dropped and from a URL, the tiny
 * ViT, the main thread's CPU per task). Then the checkpoint downloaded from the tab is
 * evaluated by `harmonize eval` here, in Deno, and must give the tab's own metrics.
 * The screenshot and the checkpoint stay in test/out/lab/ as artifacts.
 */
import { synthShards } from "../../src/data/synthetic.ts";
import { harmonize, ROOT } from "../cli/cli_process.ts";
import { assert, test } from "../harness.ts";

const OUT = `${ROOT}/test/out/lab`;

interface FlowResult {
  checkpoint: string;
  evaluatedInTab: { member: string; accuracy: number; alignmentScore: number; spearman: number; dice: number; iou: number }[];
  settings: { seed: number; records: number };
}

test("demos: the built lab runs the whole flow in Chromium, and its checkpoint evaluates the same in Deno", async () => {
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  await Deno.mkdir(OUT, { recursive: true });
  const shardDir = await Deno.makeTempDir({ prefix: "harmonize-lab-shard-" });
  try {
    const [shard] = await synthShards({ split: "train", size: 32, classes: 4, shortcut: true, shards: 1, recordsPerShard: 16, seed: 5 });
    const shardPath = `${shardDir}/${shard.name}`;
    await Deno.writeFile(shardPath, shard.bytes);

    const flow = await new Deno.Command("node", {
      args: ["test/demos/lab_flow.mjs", "--shard", shardPath, "--out", OUT],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    console.log(text(flow.stdout));
    assert(flow.code === 0, `the lab flow failed (artifacts in test/out/lab/):\n${text(flow.stderr)}`);

    const result = JSON.parse(await Deno.readTextFile(`${OUT}/result.json`)) as FlowResult;
    const inTab = result.evaluatedInTab.find((e) => e.member === "harmonized");
    assert(inTab, "the tab reported no evaluation of the harmonized model");
    const { settings } = result;
    const evaluated = await harmonize("eval", result.checkpoint, "--synthetic-records", String(settings.records), "--seed", String(settings.seed));
    assert(evaluated.code === 0, `harmonize eval failed: ${evaluated.stderr}`);
    const inDeno = JSON.parse(evaluated.stdout);
    // Lavapipe and SwiftShader may round differently in the last bits; the metrics agree far below a displayed digit.
    for (const key of ["accuracy", "alignmentScore", "spearman", "dice", "iou"] as const) {
      const deno = inDeno[key] ?? inDeno.evaluation?.[key];
      assert(Math.abs(deno - inTab[key]) < 1e-4, `${key}: ${deno} in Deno, ${inTab[key]} in the tab`);
    }
  } finally {
    await Deno.remove(shardDir, { recursive: true }).catch(() => {});
  }
});
