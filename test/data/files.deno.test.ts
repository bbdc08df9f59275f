// File system and CLI: atomic shard files, globs in natural order, and `harmonize shards`.

import { assert, assertEquals, assertRejects, test } from "../harness.ts";
import { main } from "../../src/cli/main.ts";
import { encodeJpeg } from "../../src/data/jpeg_encode.ts";
import { writeShardFile } from "../../src/data/shard_file.ts";
import { globFiles } from "../../src/data/source_file.ts";

const tempDir = () => Deno.makeTempDir({ prefix: "harmonize-data-" });

/** Runs `harmonize shards …` in-process with console output captured. */
async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { code: await main(args), out: lines.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test("data/files: writeShardFile is atomic: no partial shard and no temp file after a failure", async () => {
  const dir = await tempDir();
  await writeShardFile(`${dir}/ok.tfrecords`, [new Uint8Array([1, 2, 3])]);
  function* failing() {
    yield new Uint8Array(10);
    throw new Error("source broke");
  }
  await assertRejects(() => writeShardFile(`${dir}/broken.tfrecords`, failing()), /source broke/);
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  assertEquals(names, ["ok.tfrecords"]);
  assertEquals((await Deno.readFile(`${dir}/ok.tfrecords`)).length, 16 + 3);
  await Deno.remove(dir, { recursive: true });
});

test("data/files: globs list shards in natural order and fail clearly when nothing matches", async () => {
  const dir = await tempDir();
  for (const i of [10, 2, 1, 0]) await Deno.writeFile(`${dir}/train-${i}.tfrecords`, new Uint8Array(0));
  await Deno.writeFile(`${dir}/notes.txt`, new Uint8Array(0));
  const found = await globFiles(`${dir}/train-*.tfrecords`);
  assertEquals(found.map((p) => p.slice(dir.length + 1)), ["train-0.tfrecords", "train-1.tfrecords", "train-2.tfrecords", "train-10.tfrecords"]);
  await assertRejects(() => globFiles(`${dir}/val-*.tfrecords`), /no shard matches .*val-\*\.tfrecords/);
  await Deno.remove(dir, { recursive: true });
});

test("cli/shards: synth → verify → convert to GZIP and back gives the same bytes; inspect counts labels", async () => {
  const dir = await tempDir();
  const made = await cli("shards", "synth", "--out", dir, "--size", "32", "--train-shards", "2", "--val-shards", "1", "--per-shard", "6", "--shortcut");
  assertEquals(made.code, 0, made.out);
  const verified = await cli("shards", "verify", `${dir}/*.tfrecords`, "--decode");
  assertEquals(verified.code, 0, verified.out);
  assert(verified.out.includes("3 shard(s), 18 good records, 0 bad"), verified.out);
  assertEquals((await cli("shards", "convert", `${dir}/train-*.tfrecords`, "--out", `${dir}/gz`, "--gzip")).code, 0);
  assertEquals((await cli("shards", "verify", `${dir}/gz/train-*.tfrecords.gz`)).code, 0);
  assertEquals((await cli("shards", "convert", `${dir}/gz/*.gz`, "--out", `${dir}/plain`)).code, 0);
  assertEquals(await Deno.readFile(`${dir}/plain/train-1.tfrecords`), await Deno.readFile(`${dir}/train-1.tfrecords`));
  const inspected = await cli("shards", "inspect", `${dir}/val-0.tfrecords`, "--limit", "1");
  assert(/#0 @0 \d+ B {2}image=JPEG 32×32×3/.test(inspected.out), inspected.out);
  assert(/val-0\.tfrecords: 6 records/.test(inspected.out) && /labels: \d distinct/.test(inspected.out), inspected.out);
  const bogus = await cli("shards", "verify", "--bogus", "x");
  assertEquals(bogus.code, 2);
  assert(/^harmonize shards: unknown option --bogus/m.test(bogus.out), bogus.out);
  await Deno.remove(dir, { recursive: true });
});

test("cli/shards: write builds a shard from a manifest of JPEGs; non-JPEG input is named", async () => {
  const dir = await tempDir();
  await Deno.writeFile(`${dir}/a.jpg`, encodeJpeg(new Uint8Array(16 * 16 * 3).fill(90), 16, 16, 3));
  await Deno.writeFile(`${dir}/a_map.jpg`, encodeJpeg(new Uint8Array(16 * 16).fill(200), 16, 16, 1));
  await Deno.writeTextFile(`${dir}/manifest.csv`, "# image,heatmap,label\na.jpg,a_map.jpg,3\na.jpg,a_map.jpg,4\n");
  const written = await cli("shards", "write", `${dir}/manifest.csv`, "--out", `${dir}/out.tfrecords`);
  assertEquals(written.code, 0, written.out);
  const verified = await cli("shards", "verify", `${dir}/out.tfrecords`, "--decode");
  assert(verified.out.includes("1 shard(s), 2 good records, 0 bad"), verified.out);
  await Deno.writeTextFile(`${dir}/bad.csv`, "manifest.csv,,1\n");
  const bad = await cli("shards", "write", `${dir}/bad.csv`, "--out", `${dir}/bad.tfrecords`);
  assertEquals(bad.code, 1);
  assert(/^harmonize shards: .*bad\.csv line 1: image manifest\.csv: not a JPEG/m.test(bad.out), bad.out);
  await Deno.remove(dir, { recursive: true });
});

test("cli/shards: verify exits 1 naming the first bad record (shard, index, byte offset)", async () => {
  const dir = await tempDir();
  await cli("shards", "synth", "--out", dir, "--size", "16", "--train-shards", "1", "--val-shards", "0", "--per-shard", "5");
  const path = `${dir}/train-0.tfrecords`;
  const bytes = await Deno.readFile(path);
  const first = Number(new DataView(bytes.buffer).getBigUint64(0, true)) + 16;
  const second = Number(new DataView(bytes.buffer).getBigUint64(first, true)) + 16;
  bytes[first + second + 40] ^= 0x04; // inside record 2's data
  await Deno.writeFile(path, bytes);
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../src/cli/main.ts", import.meta.url).pathname, "shards", "verify", path],
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: "/tmp", NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(run.stderr);
  assertEquals(run.code, 1, stderr);
  assert(stderr.includes(`harmonize shards: ${path}: record 2 at byte ${first + second}: data CRC mismatch`), stderr);
  await Deno.remove(dir, { recursive: true });
});
