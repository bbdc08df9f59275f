// Safetensors files in Deno: atomic writes (temporary file + rename) and errors naming the path.
import { readSafetensorsFile, writeSafetensorsFile } from "../../src/io/safetensors.ts";
import { assertEquals, assertRejects, test } from "../harness.ts";

test("writeSafetensorsFile replaces the file atomically and leaves no temporary behind", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/model.safetensors`;
  await writeSafetensorsFile(path, { w: { shape: [2], data: Float32Array.of(1, 2) } });
  await writeSafetensorsFile(path, { w: { shape: [3], data: Float32Array.of(4, 5, 6) } }, { step: "2" });
  const { tensors, metadata } = await readSafetensorsFile(path);
  assertEquals([...tensors.get("w")!.data], [4, 5, 6]);
  assertEquals(metadata, { step: "2" });
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  assertEquals(names, ["model.safetensors"]);
  await Deno.remove(dir, { recursive: true });
});

test("safetensors file errors name the path", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/broken.safetensors`;
  await Deno.writeFile(path, new Uint8Array(3));
  await assertRejects(() => readSafetensorsFile(path), new RegExp(`${path}: only 3 bytes`));
  await assertRejects(
    () => writeSafetensorsFile(`${dir}/missing/dir/x.safetensors`, { w: { shape: [1], data: Float32Array.of(1) } }),
    /writeSafetensorsFile .*missing\/dir\/x\.safetensors/,
  );
  await Deno.remove(dir, { recursive: true });
});
