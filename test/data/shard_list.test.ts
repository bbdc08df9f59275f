import { assertEquals, assertThrows, test } from "../harness.ts";
import { CLICKME_BASE_URL, clickmeShardUrls, expandBraces, resolveShards } from "../../src/data/shard_list.ts";
import { parseArgs, stringFlag, UsageError } from "../../src/cli/command.ts";

test("data/shard_list: brace ranges, padding and alternatives expand left to right", () => {
  assertEquals(expandBraces("a-{0..2}.tfrecords"), ["a-0.tfrecords", "a-1.tfrecords", "a-2.tfrecords"]);
  assertEquals(expandBraces("s{08..10}"), ["s08", "s09", "s10"]);
  assertEquals(expandBraces("{train,val}/{1..0}"), ["train/1", "train/0", "val/1", "val/0"]);
  assertEquals(expandBraces("plain.tfrecords"), ["plain.tfrecords"]);
});

test("data/shard_list: the reference URL preset", () => {
  const train = clickmeShardUrls("train");
  assertEquals(train.length, 318);
  assertEquals(train[0], `${CLICKME_BASE_URL}/train/train-0.tfrecords`);
  assertEquals(train[317], `${CLICKME_BASE_URL}/train/train-317.tfrecords`);
  assertEquals(clickmeShardUrls("val").length, 17);
  assertEquals(clickmeShardUrls("val", "http://127.0.0.1:8000", 2), ["http://127.0.0.1:8000/val/val-0.tfrecords", "http://127.0.0.1:8000/val/val-1.tfrecords"]);
});

test("data/shard_list: Files and Blobs (a file picker's output) become sources named after the file", async () => {
  const file = new File([new Uint8Array([1, 2, 3])], "picked-0.tfrecords");
  const sources = await resolveShards([file, new Blob([new Uint8Array(0)])]);
  assertEquals(sources.map((s) => s.name), ["picked-0.tfrecords", "blob"]);
  const bytes = new Uint8Array(await new Response(await sources[0].open()).arrayBuffer());
  assertEquals([...bytes], [1, 2, 3]);
});

test("cli/command: flags, switches and missing values", () => {
  const parsed = parseArgs(["a", "--out", "dir", "--gzip", "--size=32", "b"], ["gzip"]);
  assertEquals(parsed.positional, ["a", "b"]);
  assertEquals([...parsed.flags], [["out", "dir"], ["gzip", true], ["size", "32"]]);
  // A flag given last without a value is kept, so that checkFlags can call it unknown first.
  const error = assertThrows(() => stringFlag(parseArgs(["--out"]), "out"), /--out needs a value/);
  assertEquals(error instanceof UsageError, true);
});
