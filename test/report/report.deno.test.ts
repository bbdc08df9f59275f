/** writeReport on a run folder, checked by parsing the HTML it writes (not by eye). */
import { pngDataUrl } from "../../src/io/png.ts";
import { parseMetrics, type InspectionRecord, writeReport } from "../../src/report/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows, test } from "../harness.ts";
import { decodePngDataUrl } from "./png_reader.ts";

const MEMBERS = ["plain", "harmonized"];
const GALLERY = 3;

function stepLine(member: string, step: number) {
  const k = member === "plain" ? 1 : 2;
  return {
    type: "step", member, step, epoch: Math.floor(step / 4), lr: 0.05, total: 2 / (step + k), crossEntropy: 1.5 / (step + k),
    harmonization: member === "plain" ? 0 : 0.25 / (step + 1), weightL2: 100 + step * k, imagesPerSecond: 50, time: "2026-12-01T00:00:00Z",
  };
}

function evalLine(member: string, step: number) {
  const k = member === "plain" ? 0 : 0.1;
  return { type: "eval", member, step, epoch: step / 4 - 1, accuracy: 0.5 + step / 40 + k / 10, alignmentScore: 0.3 + k + step / 100, spearman: 0.2 + k, dice: 0.1 + k, iou: 0.05 + k, images: 32, mapped: 32 };
}

async function picture(seed: number, size: number): Promise<string> {
  return pngDataUrl({ width: size, height: size, channels: 3, data: Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * 7 + seed) % 256) });
}

async function inspection(member: string, confusion: number[][]): Promise<InspectionRecord> {
  const gallery = [];
  for (let i = 0; i < GALLERY; i++) {
    gallery.push({ label: i % 2, predicted: member === "plain" ? 1 : i % 2, mapped: true, image: await picture(i, 16), human: await picture(50 + i, 16), saliency: await picture(member.length + i, 16) });
  }
  const levels = [];
  for (const side of [16, 8, 4, 2, 1]) levels.push({ width: side, height: side, saliency: await picture(side, side), human: await picture(side + 1, side), mse: side / 100 });
  const evaluation = { images: 32, accuracy: 0.75, mapped: 32, spearman: 0.3, dice: 0.2, iou: 0.1, alignmentScore: 0.45 };
  return { member, step: 8, classes: 2, classNames: ["horns", "spots"], confusion, gallery, pyramid: { index: 0, label: 0, levels }, evaluation };
}

/** Each <svg> of a section: its title and, per series, the [x, y] values it carries. */
function charts(html: string): Map<string, Map<string, number[][]>> {
  const out = new Map<string, Map<string, number[][]>>();
  for (const svg of html.match(/<svg[\s\S]*?<\/svg>/g) ?? []) {
    const title = svg.match(/class="chart-title">([^<]*)</)![1];
    const series = new Map<string, number[][]>();
    for (const m of svg.matchAll(/<(?:polyline|circle) ([^>]*)\/>/g)) {
      const name = m[1].match(/data-series="([^"]*)"/)![1];
      const values = m[1].match(/data-values="([^"]*)"/)![1].split(";").map((p) => p.split(",").map(Number));
      const drawn = m[1].match(/points="([^"]*)"/)?.[1].split(" ").length ?? 1;
      assertEquals(drawn, values.length, `${title} / ${name}: one drawn point per value`);
      series.set(name, values);
    }
    out.set(title, series);
  }
  return out;
}

function sectionOf(html: string, id: string): string {
  const m = html.match(new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`));
  assert(m, `section ${id} exists`);
  return m[1];
}

async function writeRun(dir: string, lines: string) {
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({
    harmonizeVersion: "0.1.0", createdAt: "2026-12-01T00:00:00Z", seed: 7,
    adapter: { description: "llvmpipe (LLVM 15.0.7, 256 bits)", vendor: "mesa", architecture: "", fallback: false },
    members: MEMBERS.map((name) => ({ name, mode: name })), model: { arch: "resnet", layers: [1, 1] },
  }));
  await Deno.writeTextFile(`${dir}/metrics.jsonl`, lines);
}

test("report: curves, evaluations, confusion matrices, gallery and pyramid of both members, self-contained", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const records: object[] = [];
    for (let step = 1; step <= 8; step++) for (const m of MEMBERS) records.push(stepLine(m, step));
    for (const step of [4, 8]) for (const m of MEMBERS) records.push(evalLine(m, step));
    records.push({ type: "skip", shard: "train-0.tfrecords", record: 3, offset: 1234, reason: "bad CRC" });
    await writeRun(dir, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
    await Deno.mkdir(`${dir}/inspection`);
    const confusions = { plain: [[9, 7], [3, 13]], harmonized: [[15, 1], [2, 14]] } as Record<string, number[][]>;
    for (const m of MEMBERS) await Deno.writeTextFile(`${dir}/inspection/${m}.json`, JSON.stringify(await inspection(m, confusions[m])));

    const path = await writeReport(dir);
    assertEquals(path, `${dir}/report.html`);
    const html = await Deno.readTextFile(path);

    // Self-contained: no script at all, nothing fetched.
    assert(!/<script/i.test(html), "no script");
    assert(!/https?:\/\//.test(html), "no http(s) URL");
    assert(!/<link/i.test(html), "no linked resource");
    for (const src of html.matchAll(/src="([^"]*)"/g)) assert(src[1].startsWith("data:image/png;base64,"), `inline image, got ${src[1].slice(0, 30)}`);

    // Loss-part curves: every logged value of every member, in order.
    const losses = charts(sectionOf(html, "losses"));
    assertEquals([...losses.keys()], ["total loss", "cross-entropy", "harmonization term", "weight L2 (½‖θ‖²)"]);
    for (const m of MEMBERS) {
      const steps = records.filter((r) => (r as { type: string; member: string }).type === "step" && (r as { member: string }).member === m) as ReturnType<typeof stepLine>[];
      assertEquals(losses.get("total loss")!.get(m), steps.map((r) => [r.step, r.total]), `${m} total`);
      assertEquals(losses.get("cross-entropy")!.get(m), steps.map((r) => [r.step, r.crossEntropy]), `${m} cross-entropy`);
      assertEquals(losses.get("weight L2 (½‖θ‖²)")!.get(m), steps.map((r) => [r.step, r.weightL2]), `${m} weight L2`);
    }
    // Validation per evaluation.
    const validation = charts(sectionOf(html, "validation"));
    assertEquals(validation.get("validation accuracy")!.get("harmonized"), [[4, evalLine("harmonized", 4).accuracy], [8, evalLine("harmonized", 8).accuracy]]);
    assertEquals(validation.get("alignment score (ρ / human ceiling)")!.get("plain"), [4, 8].map((step) => [step, evalLine("plain", step).alignmentScore]));
    const summary = sectionOf(html, "summary");
    assert(summary.includes("<th>plain</th><th>harmonized</th>"), "members side by side");
    assert(summary.includes(`${(100 * evalLine("harmonized", 8).accuracy).toFixed(1)} %`), "final accuracy");

    // Confusion matrices: the counts, per member.
    for (const m of MEMBERS) {
      const table = sectionOf(html, "confusion").match(new RegExp(`<table class="confusion" data-member="${m}">([\\s\\S]*?)</table>`))![1];
      const numbers = [...table.matchAll(/<td[^>]*>(\d+)<\/td>/g)].map((x) => Number(x[1]));
      assertEquals(numbers, confusions[m].flat(), `${m} confusion`);
      assert(table.includes("<th>horns</th>") && table.includes("<th>spots</th>"), "class names");
    }

    // Gallery: per image, the image, the human map and both members' saliency, all valid PNGs.
    const gallery = sectionOf(html, "gallery");
    const images = [...gallery.matchAll(/<img src="([^"]*)"/g)].map((x) => x[1]);
    assertEquals(images.length, GALLERY * (2 + MEMBERS.length));
    for (const url of images) {
      const png = await decodePngDataUrl(url);
      assertEquals([png.width, png.height], [16, 16]);
    }
    assertEquals([...gallery.matchAll(/<td data-member="(\w+)">/g)].map((x) => x[1]), Array(GALLERY).fill(MEMBERS).flat());

    // Pyramid: five levels of S′ and Hm″ per member, with the level terms.
    const pyramid = sectionOf(html, "pyramid");
    for (const m of MEMBERS) {
      const table = pyramid.match(new RegExp(`<table class="pyramid" data-member="${m}">([\\s\\S]*?)</table>`))![1];
      const sides = [];
      for (const x of table.matchAll(/<img src="([^"]*)"/g)) sides.push((await decodePngDataUrl(x[1])).width);
      assertEquals(sides, [16, 8, 4, 2, 1, 16, 8, 4, 2, 1], `${m} pyramid`);
      assert(table.includes("<td>0.16</td>") && table.includes("<td>0.01</td>"), "level terms");
    }

    // Config, adapter, skipped records.
    assert(sectionOf(html, "config").includes("llvmpipe (LLVM 15.0.7, 256 bits)"), "adapter");
    assert(sectionOf(html, "config").includes("&quot;seed&quot;: 7"), "config JSON");
    assert(sectionOf(html, "skipped").includes("<td>train-0.tfrecords</td><td>3</td><td>1234</td><td>bad CRC</td>"), "skipped record");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("report: a run without evaluations or inspections still renders, and a cut-off last line is dropped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeRun(dir, JSON.stringify(stepLine("harmonized", 1)) + "\n" + JSON.stringify(stepLine("harmonized", 2)) + '\n{"type":"step","mem');
    const html = await Deno.readTextFile(await writeReport(dir));
    assertEquals(charts(sectionOf(html, "losses")).get("total loss")!.get("harmonized")!.length, 2);
    assert(sectionOf(html, "validation").includes("No evaluation recorded."), "says so");
    assert(!html.includes('id="gallery"'), "no gallery without inspections");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("report: errors name the file and line", async () => {
  assertThrows(() => parseMetrics('{"type":"step"}\n{}\n', "m.jsonl"), /^m\.jsonl:1: a step record needs a "member" string$/);
  assertThrows(() => parseMetrics('{"type":"eval","member":"a","step":1,"accuracy":"high"}\n', "m.jsonl"), /m\.jsonl:1: "alignmentScore" must be a number|m\.jsonl:1: "accuracy" must be a number/);
  assertThrows(() => parseMetrics("nonsense\n{}\n", "m.jsonl"), /m\.jsonl:1: not valid JSON/);
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(() => writeReport(dir), new RegExp(`not a run folder: ${dir}/config.json does not exist`));
    await writeRun(dir, "");
    await Deno.mkdir(`${dir}/inspection`);
    await Deno.writeTextFile(`${dir}/inspection/plain.json`, JSON.stringify({ member: "plain", classes: 2, confusion: [[1]], gallery: [] }));
    await assertRejects(() => writeReport(dir), /inspection\/plain\.json: "confusion" must be 2×2/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
