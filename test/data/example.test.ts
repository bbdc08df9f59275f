import { assertEquals, assertThrows, test } from "../harness.ts";
import { encodeSample, parseSample } from "../../src/data/clickme_record.ts";
import { decodeExample, encodeExample, requireFeature } from "../../src/data/example.ts";

/** Minimal protobuf writer for hand-made messages: fields in any order, any encoding. */
function varint(n: number): number[] {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const len = (field: number, body: number[]) => [...varint(field * 8 + 2), ...varint(body.length), ...body];
const text = (s: string) => [...new TextEncoder().encode(s)];

test("data/example: encode → decode round trip of all three list kinds", () => {
  const bytes = encodeExample({
    image: { kind: "bytes", values: [new Uint8Array([1, 2, 3]), new Uint8Array(0)] },
    scores: { kind: "float", values: [0.5, -2] },
    label: { kind: "int64", values: [7, 0, -3, 2 ** 40] },
  });
  const features = decodeExample(bytes);
  assertEquals([...requireFeature(features, "image", "bytes")[0]], [1, 2, 3]);
  assertEquals(requireFeature(features, "scores", "float"), [0.5, -2]);
  assertEquals(requireFeature(features, "label", "int64"), [7, 0, -3, 2 ** 40]);
});

test("data/example: any field order, unpacked int64, unknown fields of every wire type skipped", () => {
  // Feature{int64_list{value: 5 (unpacked), value: 6 (unpacked)}}, then an unknown fixed32 field.
  const labelFeature = [...len(3, [8, 5, 8, 6]), ...[(9 << 3) | 5, 1, 2, 3, 4]];
  // Map entry with value (field 2) before key (field 1), plus an unknown varint field 7.
  const labelEntry = [...len(2, labelFeature), ...[7 << 3, 150, 1], ...len(1, text("label"))];
  const imageEntry = [...len(1, text("image")), ...len(2, len(1, len(1, [0xff, 0xd8])))];
  const features = [...len(1, labelEntry), ...[(4 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8], ...len(1, imageEntry)];
  // Example: an unknown LEN field before the features.
  const example = new Uint8Array([...len(15, text("ignored")), ...len(1, features)]);
  const decoded = decodeExample(example);
  assertEquals(requireFeature(decoded, "label", "int64"), [5, 6]);
  assertEquals([...requireFeature(decoded, "image", "bytes", 1)[0]], [0xff, 0xd8]);
});

test("data/example: a wrong schema names the feature", () => {
  const features = decodeExample(encodeExample({
    image: { kind: "bytes", values: [new Uint8Array([1])] },
    label: { kind: "float", values: [3] },
  }));
  assertThrows(() => requireFeature(features, "heatmap", "bytes"), /feature 'heatmap' is missing \(features present: 'image', 'label'\)/);
  assertThrows(() => requireFeature(features, "label", "int64"), /feature 'label' is a float_list, expected a int64_list/);
  assertThrows(() => parseSample(features, "clickme"), /feature 'label' is a float_list/);
  const two = decodeExample(encodeExample({ label: { kind: "int64", values: [1, 2] } }));
  assertThrows(() => requireFeature(two, "label", "int64", 1), /feature 'label' has 2 values, expected 1/);
});

test("data/example: truncated or malformed protobuf is an error, not a crash", () => {
  const good = encodeSample({ image: new Uint8Array([0xff, 0xd8, 0xff]), heatmap: new Uint8Array([1]), label: 3 });
  assertThrows(() => decodeExample(good.subarray(0, good.length - 2)), /runs past the end|ends inside/);
  assertThrows(() => decodeExample(new Uint8Array([0x0b, 0x00])), /unsupported protobuf wire type 3/);
  assertEquals(parseSample(decodeExample(good), "clickme").label, 3);
  assertEquals(parseSample(decodeExample(good), "images").heatmap, undefined);
});

test("data/example: non-UTF-8 names, out-of-range int64 and wrong wire types name a byte; labels must be class indices (found by test/fuzz)", () => {
  // Before: two invalid names both decoded to U+FFFD and silently merged.
  const badName = new Uint8Array([...len(1, len(1, [...len(1, [0x61, 0xff]), ...len(2, len(3, len(1, [1])))]))]);
  assertThrows(() => decodeExample(badName), /feature name at byte 6 is not valid UTF-8/);
  const huge = new Uint8Array(len(1, len(1, [...len(1, text("label")), ...len(2, len(3, len(1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])))])));
  assertThrows(() => decodeExample(huge), /int64 value outside ±2\^53 at byte \d+/);
  const wrongWire = new Uint8Array(len(1, len(1, [...len(1, text("image")), ...len(2, len(1, [(1 << 3) | 5, 0, 0, 0, 0]))])));
  assertThrows(() => decodeExample(wrongWire), /bytes_list value at byte \d+ has wire type 5/);
  // Before: a label of 2^40 passed and wrapped to 0 in the Int32Array of the batch.
  for (const label of [2 ** 40, 2 ** 31, -1]) {
    const features = decodeExample(encodeSample({ image: new Uint8Array([0xff, 0xd8, 0xff]), heatmap: new Uint8Array([1]), label }));
    assertThrows(() => parseSample(features, "clickme"), new RegExp(`feature 'label' is ${label}, not a class index in \\[0, 2147483647\\]`));
  }
});

test("data/example: names from the file stay on one line in errors (found by bench/fuzz)", () => {
  const features = decodeExample(encodeExample({
    "h\nimag": { kind: "bytes", values: [] },
    ["x".repeat(100)]: { kind: "bytes", values: [] },
    ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, { kind: "bytes" as const, values: [] }])),
  }));
  const error = assertThrows(() => requireFeature(features, "image", "bytes"), /feature 'image' is missing \(features present: 'h\\nimag', 'x{37}\.\.\.', 'f0', .*, … \(12 in all\)\)/);
  assertEquals(error.message.includes("\n"), false);
});
