// The safetensors reader and writer: round trips, dtype conversions and clear errors on bad input.
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.ts";
import { assert, assertEquals, assertThrows, test } from "../harness.ts";

/** Builds a file from a header object and raw data bytes, as another writer might. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test("safetensors round trip keeps names, order, shapes, values and metadata", () => {
  const tensors = new Map([
    ["layer1.0.conv1.weight", { shape: [2, 1, 1, 3], data: Float32Array.of(1, -2, 3.5, 0, 1e-8, -7) }],
    ["bn1.num_batches_tracked", { shape: [], data: Int32Array.of(42), stored: "I64" as const }],
    ["empty", { shape: [0, 3], data: new Float32Array(0) }],
    ["counts", { shape: [2], data: Int32Array.of(-5, 2147483647) }],
  ]);
  const bytes = encodeSafetensors(tensors, { format: "pt" });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + headerLength) % 8, 0, "data starts 8-byte aligned");
  const { tensors: back, metadata } = decodeSafetensors(bytes);
  assertEquals([...back.keys()], [...tensors.keys()]);
  assertEquals(metadata, { format: "pt" });
  for (const [name, t] of tensors) {
    const b = back.get(name)!;
    assertEquals(b.shape, t.shape, name);
    assertEquals(b.data.constructor.name, t.data.constructor.name, name);
    assertEquals([...b.data], [...t.data], name);
  }
  assertEquals(back.get("bn1.num_batches_tracked")!.stored, "I64");
});

test("safetensors F64 is narrowed to f32 and I64 to int32 on load", () => {
  const data = new Uint8Array(8 * 3 + 8 * 2);
  const view = new DataView(data.buffer);
  [0.1, -1e300, 3].forEach((v, i) => view.setFloat64(8 * i, v, true));
  view.setBigInt64(24, -3n, true);
  view.setBigInt64(32, 1234567n, true);
  const file = rawFile({
    x: { dtype: "F64", shape: [3], data_offsets: [0, 24] },
    n: { dtype: "I64", shape: [2], data_offsets: [24, 40] },
  }, data);
  const { tensors } = decodeSafetensors(file);
  const x = tensors.get("x")!;
  assertEquals(x.data instanceof Float32Array, true);
  assertEquals([x.data[0], x.data[2]], [Math.fround(0.1), 3]);
  assertEquals(x.data[1], -Infinity, "out of f32 range");
  assertEquals([...tensors.get("n")!.data], [-3, 1234567]);
  assertEquals(tensors.get("n")!.data instanceof Int32Array, true);
});

test("safetensors malformed files give errors naming the file and tensor", () => {
  const file = "ckpt.safetensors";
  assertThrows(() => decodeSafetensors(new Uint8Array(5), file), /^ckpt\.safetensors: only 5 bytes/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 1000n, true);
  assertThrows(() => decodeSafetensors(huge, file), /ckpt\.safetensors: header length 1000 exceeds the 8 bytes/);
  assertThrows(() => decodeSafetensors(rawFile(null, undefined, "{not json"), file), /ckpt\.safetensors: header is not valid UTF-8 JSON/);
  assertThrows(() => decodeSafetensors(rawFile([1, 2]), file), /header is not a JSON object/);
  assertThrows(
    () => decodeSafetensors(rawFile({ w: { dtype: "U8", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), file),
    /ckpt\.safetensors: tensor "w": unsupported dtype "U8" \(supported: F32, F64, F16, BF16, I64, I32\)/,
  );
  assertThrows(
    () => decodeSafetensors(rawFile({ w: { dtype: "F32", shape: [2, -1], data_offsets: [0, 4] } }, new Uint8Array(4)), file),
    /tensor "w": shape \[2,-1\] is not a list of non-negative integers/,
  );
  assertThrows(
    () => decodeSafetensors(rawFile({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), file),
    /tensor "w": data_offsets \[0, 8\] hold 8 bytes, but F32 \[3\] needs 12/,
  );
  assertThrows(
    () => decodeSafetensors(rawFile({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), file),
    /tensor "w": data_offsets end 8 is past the 4 data bytes/,
  );
  assertThrows(
    () => decodeSafetensors(rawFile({ w: { dtype: "F32", shape: [2] } }, new Uint8Array(8)), file),
    /tensor "w": data_offsets undefined is not a pair/,
  );
  assertThrows(
    () =>
      decodeSafetensors(
        rawFile({
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
        }, new Uint8Array(12)),
        file,
      ),
    /tensors "a" and "b" overlap/,
  );
  const big = new Uint8Array(8);
  new DataView(big.buffer).setBigInt64(0, 1n << 40n, true);
  assertThrows(
    () => decodeSafetensors(rawFile({ n: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, big), file),
    /tensor "n": I64 value 1099511627776 at index 0 does not fit in int32/,
  );
  assertThrows(() => decodeSafetensors(rawFile({ __metadata__: { a: 1 } }), file), /__metadata__ must map strings to strings/);
});

test("safetensors writer rejects values that do not fit the shape or dtype", () => {
  assertThrows(() => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }), /tensor "w" has 3 values for shape \[2,2\]/);
  assertThrows(
    () => encodeSafetensors({ w: { shape: [1], data: new Float32Array(1), stored: "I64" } }),
    /tensor "w" holds Float32Array but is to be stored as I64/,
  );
});

test("safetensors: tensors must tile the data (a gap hides a duplicate key's bytes); hostile values stay one short line", () => {
  const file = "tiles.safetensors";
  assertThrows(
    () => decodeSafetensors(rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), file),
    /tiles\.safetensors: data bytes 0\.\.4 belong to no tensor \(a gap before tensor "a"\)/,
  );
  assertThrows(
    () => decodeSafetensors(rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), file),
    /the tensors end at data byte 4, but the file has 8 data bytes/,
  );
  // Found by test/fuzz: a 100 000-deep shape made the error message 200 KB long.
  const deep = new TextEncoder().encode(`{"a":{"dtype":"F32","shape":${"[".repeat(100_000)}${"]".repeat(100_000)},"data_offsets":[0,0]}}`);
  const bytes = new Uint8Array(8 + deep.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(deep.length), true);
  bytes.set(deep, 8);
  const error = assertThrows(() => decodeSafetensors(bytes, file), /tensor "a": shape \[\[\[.*\.\.\. is not a list/);
  assert(error.message.length < 200, `message of ${error.message.length} characters`);
  // Found by bench/fuzz: V8 quotes the broken header in its message, newlines included.
  const broken = assertThrows(() => decodeSafetensors(rawFile(null, new Uint8Array(0), '{"a":\nx\n}'), file), /header is not valid UTF-8 JSON \(Unexpected token/);
  assertEquals(broken.message.includes("\n"), false);
  // Found by test/fuzz: "toString" passed the dtype check (`in` looks up the prototype chain).
  assertThrows(
    () => decodeSafetensors(rawFile({ a: { dtype: "toString", shape: [0], data_offsets: [0, 0] } }), file),
    /tensor "a": unsupported dtype "toString"/,
  );
});
