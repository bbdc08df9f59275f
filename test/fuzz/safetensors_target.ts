// Fuzz target: safetensors headers and data. Mutations rewrite the JSON header (giant shapes,
// offsets out of range or swapped between tensors, wrong dtypes, duplicate keys, deep nesting,
// non-UTF-8 names, a 2^63 header length) or the bytes, and put NaN/Inf into the data. A decoded
// file is checked against the bytes at each tensor's offsets, read independently here; an error
// must name the file.

import { bfloat16ToFloat, halfToFloat } from "../../src/io/half_float.ts";
import { decodeSafetensors, encodeSafetensors, type HostTensor } from "../../src/io/safetensors.ts";
import type { Random } from "../../src/data/random.ts";
import { check, concat, DEEP_ARRAY, DEEP_OBJECT, type FuzzTarget, HUGE_LENGTHS, hostileJsonValue, mutateBytes, namedError, pick } from "./fuzz.ts";

const SOURCE = "fuzz.safetensors";

function validFile(random: Random): Uint8Array {
  const tensors: Record<string, HostTensor> = {};
  for (let i = 0, n = 1 + random.int(4); i < n; i++) {
    const shape = Array.from({ length: random.int(4) }, () => random.int(4));
    const count = shape.reduce((a, b) => a * b, 1);
    const stored = pick(random, ["F32", "F64", "F16", "BF16", "I32", "I64"] as const);
    const isInt = stored === "I32" || stored === "I64";
    const data = isInt ? new Int32Array(count).map(() => random.int(2000) - 1000) : new Float32Array(count).map(() => random.next() - 0.5);
    tensors[`layer${i}.${pick(random, ["weight", "bias", "running_mean"])}`] = { shape, data, stored };
  }
  return encodeSafetensors(tensors, random.int(2) ? { config: '{"arch":"resnet"}', step: "12" } : undefined);
}

function split(bytes: Uint8Array): { header: string; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

function join(header: Uint8Array, data: Uint8Array, length: bigint = BigInt(header.length)): Uint8Array {
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, length, true);
  return concat(head, header, data);
}

/** A header-level mutation, written back with a matching (or, once in a while, a hostile) length. */
function mutateHeader(random: Random, bytes: Uint8Array): Uint8Array {
  const { header, data } = split(bytes);
  const json = JSON.parse(header) as Record<string, { dtype: string; shape: unknown; data_offsets: unknown }>;
  const names = Object.keys(json).filter((k) => k !== "__metadata__");
  const name = pick(random, names);
  const entry = json[name];
  let text: string | undefined;
  switch (random.int(9)) {
    case 0: // giant shape
      entry.shape = pick(random, [[2 ** 26, 2 ** 27], [2 ** 53, 2], [0, 2 ** 60], [4294967296, 4294967296, 4294967296], [-1, 2]]);
      break;
    case 1: { // offsets out of range
      const [b, e] = entry.data_offsets as [number, number];
      entry.data_offsets = pick(random, [[b, e + 4], [b + data.length, e + data.length], [e, b], [0, 2 ** 63], [-4, e], [b, e, 0]]);
      break;
    }
    case 2: { // offsets swapped with another tensor's
      const other = json[pick(random, names)];
      [entry.data_offsets, other.data_offsets] = [other.data_offsets, entry.data_offsets];
      break;
    }
    case 3:
      entry.dtype = pick(random, ["F16", "BF16", "F32", "I64", "f32", "", "U8", "I64 ", "toString", "__proto__"]);
      break;
    case 4: // a field replaced by a hostile value (huge, infinite, wrong type, deeply nested)
      (entry as Record<string, unknown>)[pick(random, ["dtype", "shape", "data_offsets"])] = "__HOSTILE__";
      text = JSON.stringify(json).replace('"__HOSTILE__"', hostileJsonValue(random));
      break;
    case 5: // a duplicate key: the same name again with other offsets
      text = JSON.stringify(json).replace(/^\{/, `{${JSON.stringify(name)}:${JSON.stringify({ ...entry, data_offsets: [0, 0], shape: [0] })},`);
      break;
    case 6: { // a non-UTF-8 name
      const encoded = new TextEncoder().encode(JSON.stringify(json));
      const at = new TextDecoder().decode(encoded).indexOf(name);
      encoded[at] = 0xff;
      return join(encoded, data);
    }
    case 7: // deep nesting far past what a recursive parser survives
      text = JSON.stringify(json).replace(/^\{/, `{"__deep__":${pick(random, [DEEP_ARRAY, DEEP_OBJECT])},`);
      break;
    case 8: { // hostile header length
      const encoded = new TextEncoder().encode(header);
      return join(encoded, data, pick(random, HUGE_LENGTHS));
    }
  }
  return join(new TextEncoder().encode(text ?? JSON.stringify(json)), data);
}

/** NaN, ±Inf and signalling-NaN patterns written over some data bytes: a valid file, read as is. */
function poisonData(random: Random, bytes: Uint8Array): Uint8Array {
  const { header, data } = split(bytes);
  const out = bytes.slice();
  const start = bytes.length - data.length;
  const view = new DataView(out.buffer);
  const json = JSON.parse(header) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  for (const [name, entry] of Object.entries(json)) {
    if (name === "__metadata__" || entry.data_offsets[1] === entry.data_offsets[0]) continue;
    const at = start + entry.data_offsets[0];
    if (entry.dtype === "F32") view.setUint32(at, pick(random, [0x7fc00000, 0x7f800000, 0xff800000, 0x7f800001]), true);
    if (entry.dtype === "F64") view.setFloat64(at, pick(random, [NaN, Infinity, -Infinity, 1e300]), true);
    if (entry.dtype === "F16" || entry.dtype === "BF16") view.setUint16(at, pick(random, [0x7c00, 0xfc00, 0x7e00, 0x7f80, 0xffc1]), true);
  }
  return out;
}

/** The values of one entry, read straight from the bytes, as the decoder should give them. */
function expectedValues(bytes: Uint8Array, dataStart: number, entry: { dtype: string; data_offsets: [number, number] }): number[] {
  const [begin, end] = entry.data_offsets;
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
  const size = ({ F32: 4, F64: 8, F16: 2, BF16: 2, I32: 4, I64: 8 } as Record<string, number>)[entry.dtype];
  return Array.from({ length: (end - begin) / size }, (_, i) => {
    if (entry.dtype === "F32") return view.getFloat32(4 * i, true);
    if (entry.dtype === "F64") return Math.fround(view.getFloat64(8 * i, true));
    if (entry.dtype === "F16") return halfToFloat(view.getUint16(2 * i, true));
    if (entry.dtype === "BF16") return bfloat16ToFloat(view.getUint16(2 * i, true));
    if (entry.dtype === "I32") return view.getInt32(4 * i, true);
    return Number(view.getBigInt64(8 * i, true));
  });
}

export const safetensorsTarget: FuzzTarget = {
  name: "safetensors",
  setup: () => Promise.resolve(),
  one(random, iteration) {
    const valid = validFile(random);
    const how = random.int(4);
    const bytes = how === 0 ? mutateBytes(random, valid) : how === 1 ? poisonData(random, valid) : mutateHeader(random, valid);
    const label = `${SOURCE} input ${iteration} (${["bytes", "NaN/Inf data", "header", "header"][how]})`;
    let contents;
    try {
      contents = decodeSafetensors(bytes, SOURCE);
    } catch (e) {
      check(how !== 1, `${label}: a valid file with NaN/Inf values was refused: ${e}`);
      return Promise.resolve(namedError(e, new RegExp(`^${SOURCE.replace(".", "\\.")}: `), label));
    }
    const { header } = split(bytes);
    const json = JSON.parse(header) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const dataStart = bytes.length - split(bytes).data.length;
    for (const [name, tensor] of contents.tensors) {
      const entry = json[name];
      check(entry !== undefined, `${label}: tensor "${name}" is not in the header`);
      check(tensor.shape.reduce((a, b) => a * b, 1) === tensor.data.length, `${label}: tensor "${name}" has ${tensor.data.length} values for [${tensor.shape}]`);
      const expected = expectedValues(bytes, dataStart, entry);
      check(expected.length === tensor.data.length && expected.every((v, i) => Object.is(v, tensor.data[i])),
        `${label}: tensor "${name}" does not hold the bytes at its offsets`);
    }
    const stored = Object.keys(json).filter((k) => k !== "__metadata__").length;
    check(contents.tensors.size === stored, `${label}: ${contents.tensors.size} tensors decoded, the header lists ${stored}`);
    return Promise.resolve({ ok: true as const });
  },
};
