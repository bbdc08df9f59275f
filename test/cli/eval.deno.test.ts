/** `harmonize eval` and `harmonize report` end to end on a run folder laid out as harmonize train writes it. */
import { init } from "../../src/engine.ts";
import { writeSafetensorsFile } from "../../src/io/safetensors.ts";
import { createModel, type ModelConfig } from "../../src/models/mod.ts";
import { Loader } from "../../src/data/loader.ts";
import { gpuBatches } from "../../src/data/gpu_batches.ts";
import { bytesSource } from "../../src/data/source.ts";
import { synthShards } from "../../src/data/synthetic.ts";
import { evaluate } from "../../src/harmonize/evaluate.ts";
import { assert, assertEquals, test } from "../harness.ts";
import { harmonize } from "./roundtrip_fixtures.ts";

const CONFIG: ModelConfig = { arch: "resnet", block: "basic", layers: [1, 1], widths: [4, 8], classes: 3, stemKernel: 3, stemStride: 1, stemPool: true };
const DATA = {
  train: "embedded", val: "embedded", size: 16, classes: 3, seed: 5,
  embedded: { trainRecords: 32, validationRecords: 8, options: { shortcut: true } },
};

/** RUN with config.json and one checkpoint (step 4) per member; returns the run folder. */
async function makeRun(dir: string): Promise<string> {
  const run = `${dir}/run`;
  await Deno.mkdir(run);
  await Deno.writeTextFile(`${run}/config.json`, JSON.stringify({ members: [{ name: "plain" }, { name: "harmonized" }], model: CONFIG, data: DATA }));
  for (const [k, member] of ["plain", "harmonized"].entries()) {
    const model = createModel({ ...CONFIG, seed: k });
    const step = `${run}/checkpoints/${member}/step-000004`;
    await Deno.mkdir(step, { recursive: true });
    await writeSafetensorsFile(`${step}/model.safetensors`, await model.hostStateDict(), { config: JSON.stringify({ ...CONFIG, seed: k }), step: "4", member, mode: member });
    await Deno.writeTextFile(`${run}/checkpoints/${member}/latest`, JSON.stringify({ dir: "step-000004", step: 4 }));
    model.dispose();
  }
  return run;
}

test("eval: a run's member on the run's own validation data, as JSON, a JSON file and an HTML report", async () => {
  await init();
  const dir = await Deno.makeTempDir();
  try {
    const run = await makeRun(dir);
    const result = await harmonize("eval", run, "--member", "harmonized", "--json", `${dir}/eval.json`, "--report", `${dir}/eval.html`, "--gallery", "3");
    assertEquals(result.code, 0, result.stderr.join("\n"));
    const json = JSON.parse(result.stdout.join("\n"));
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/eval.json`)), json);
    assertEquals([json.checkpoint, json.member, json.step, json.images, json.mapped], [`${run}/checkpoints/harmonized/step-000004/model.safetensors`, "harmonized", 4, 8, 8]);

    // The same numbers as evaluate() on the validation split harmonize train draws for this config.
    const shards = await synthShards({ split: "val", size: 16, classes: 3, shortcut: true, shards: 2, recordsPerShard: 4, seed: 5 });
    const loader = new Loader({ datasets: [{ shards: shards.map((s) => bytesSource(s.bytes, s.name)) }], batchSize: 64, preprocess: { size: 16, blurSize: 16 } });
    const model = createModel({ ...CONFIG, seed: 1 });
    const reference = await evaluate(model, gpuBatches(loader), 3);
    model.dispose();
    for (const key of ["accuracy", "alignmentScore", "spearman", "dice", "iou"] as const) assertEquals(json[key], reference[key], key);

    // Every form of CKPT names the same model.
    for (const ckpt of [`${run}/checkpoints/harmonized`, `${run}/checkpoints/harmonized/step-000004`, json.checkpoint]) {
      const again = await harmonize("eval", ckpt);
      assertEquals(JSON.parse(again.stdout.join("\n")), json, ckpt);
    }

    const html = await Deno.readTextFile(`${dir}/eval.html`);
    assert(!/<script|https?:\/\//i.test(html), "self-contained");
    assert(html.includes(`<td>${(100 * json.accuracy).toFixed(1)} %</td>`), "accuracy in the report");
    const gallery = html.match(/<section id="gallery">([\s\S]*?)<\/section>/)![1];
    assertEquals(gallery.match(/<img src="data:image\/png;base64,/g)!.length, 3 * 3);
    const confusion = html.match(/<table class="confusion" data-member="harmonized">([\s\S]*?)<\/table>/)![1];
    assertEquals([...confusion.matchAll(/<td[^>]*>(\d+)<\/td>/g)].reduce((n, m) => n + Number(m[1]), 0), 8);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("eval and report: one-line errors naming the folder, member, shard or flag", async () => {
  await init();
  const dir = await Deno.makeTempDir();
  try {
    const run = await makeRun(dir);
    const cases: [string[], number, string][] = [
      [["eval", run], 2, `harmonize eval: ${run} holds the members harmonized, plain: choose one with --member (harmonize eval --help)`],
      [["eval", run, "--member", "other"], 2, `harmonize eval: ${run} has no member "other" (members: harmonized, plain) (harmonize eval --help)`],
      [["eval", `${run}/checkpoints/plain/step-000004`, "--val", `${dir}/missing.tfrecords`], 1, `${dir}/missing.tfrecords`],
      [["eval", run, "--member", "plain", "--batch", "3"], 2, "harmonize eval: unknown option --batch"],
      [["eval"], 2, "harmonize eval: give exactly one CKPT, got 0"],
      [["report", dir], 1, `harmonize report: not a run folder: ${dir}/config.json does not exist`],
    ];
    for (const [args, code, message] of cases) {
      const result = await harmonize(...args);
      assertEquals(result.code, code, `${args.join(" ")}: ${result.stderr.join("\n")}`);
      assertEquals(result.stderr.length, 1, `${args.join(" ")}: one line`);
      assert(result.stderr[0].includes(message), `${args.join(" ")}: ${result.stderr[0]}`);
    }
    for (const command of ["eval", "report", "export", "import"]) {
      const help = await harmonize(command, "--help");
      assertEquals(help.code, 0);
      assert(help.stdout[0].startsWith(`usage: harmonize ${command}`), help.stdout[0]);
    }
    const report = await harmonize("report", run);
    assertEquals([report.code, report.stdout], [0, [`wrote ${run}/report.html`]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("eval: a run's checkpoint scores exactly what the run logged for it (the same validation split by default)", async () => {
  await init();
  const dir = await Deno.makeTempDir();
  try {
    const trained = await harmonize("train", "--mode", "harmonized", "--steps", "2", "--synthetic-records", "32", "--size", "16", "--batch-size", "8", "--seed", "3", "--run", `${dir}/run`);
    assertEquals(trained.code, 0, trained.stderr.join("\n"));
    const logged = (await Deno.readTextFile(`${dir}/run/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.type === "eval").at(-1);
    const result = await harmonize("eval", `${dir}/run`);
    assertEquals(result.code, 0, result.stderr.join("\n"));
    const json = JSON.parse(result.stdout.join("\n"));
    assertEquals([json.member, json.step, json.images, json.mapped], [logged.member, logged.step, logged.images, logged.mapped]);
    for (const key of ["accuracy", "alignmentScore", "spearman", "dice", "iou"]) {
      assert(Math.abs(json[key] - logged[key]) <= 1e-6, `${key}: eval ${json[key]}, the run logged ${logged[key]}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
