// tf.train.Example in the protobuf wire format, without a protobuf library:
//   Example { Features features = 1 }   Features { map<string, Feature> feature = 1 }
//   Feature { oneof { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3 } }
//   each list { repeated T value = 1 } (floats and int64s packed or not).
// Fields may come in any order, and unknown fields are skipped as protobuf requires.

export type Feature =
  | { kind: "bytes"; values: Uint8Array[] }
  | { kind: "float"; values: number[] }
  | { kind: "int64"; values: number[] };
export type FeatureKind = Feature["kind"];
export type Features = Map<string, Feature>;
export type ValuesOf<K extends FeatureKind> = K extends "bytes" ? Uint8Array[] : number[];

const VARINT = 0, FIXED64 = 1, LEN = 2, FIXED32 = 5;
const KIND_BY_FIELD: Record<number, FeatureKind> = { 1: "bytes", 2: "float", 3: "int64" };
const FIELD_BY_KIND: Record<FeatureKind, number> = { bytes: 1, float: 2, int64: 3 };

class WireReader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  byte(): number {
    if (this.pos >= this.end) throw new Error(`protobuf ends inside a field at byte ${this.pos}`);
    return this.bytes[this.pos++];
  }
  /** A varint as a non-negative integer; lengths and tags never exceed 2^53 here. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Error(`varint longer than 10 bytes at byte ${this.pos}`);
  }
  /** An int64 varint (two's complement); values beyond ±2^53 are refused rather than rounded. */
  int64(): number {
    let lo = 0, hi = 0, shift = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
      if (b < 0x80) {
        const value = (hi | 0) * 2 ** 32 + (lo >>> 0);
        if (!Number.isSafeInteger(value)) throw new Error(`int64 value outside ±2^53 at byte ${this.pos}`);
        return value;
      }
    }
    throw new Error(`varint longer than 10 bytes at byte ${this.pos}`);
  }
  sub(): WireReader {
    const length = this.varint();
    if (length > this.end - this.pos) {
      throw new Error(`length ${length} at byte ${this.pos} runs past the end of its message`);
    }
    const inner = new WireReader(this.bytes, this.pos, this.pos + length);
    this.pos += length;
    return inner;
  }
  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.advance(8);
    else if (wireType === LEN) this.sub();
    else if (wireType === FIXED32) this.advance(4);
    else throw new Error(`unsupported protobuf wire type ${wireType} at byte ${this.pos}`);
  }
  advance(n: number): void {
    if (n > this.end - this.pos) throw new Error(`protobuf ends inside a field at byte ${this.pos}`);
    this.pos += n;
  }
  float32(): number {
    this.advance(4);
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos - 4, 4).getFloat32(0, true);
  }
  tag(): { field: number; wireType: number } {
    const key = this.varint();
    return { field: Math.floor(key / 8), wireType: key % 8 };
  }
}

/** Decodes a serialized Example; bytes values are views into `bytes`, not copies. */
export function decodeExample(bytes: Uint8Array): Features {
  const features: Features = new Map();
  const example = new WireReader(bytes);
  while (!example.done) {
    const { field, wireType } = example.tag();
    if (field !== 1 || wireType !== LEN) {
      example.skip(wireType);
      continue;
    }
    const map = example.sub();
    while (!map.done) {
      const entryTag = map.tag();
      if (entryTag.field !== 1 || entryTag.wireType !== LEN) {
        map.skip(entryTag.wireType);
        continue;
      }
      const [name, feature] = decodeEntry(map.sub());
      features.set(name, feature);
    }
  }
  return features;
}

function decodeEntry(entry: WireReader): [string, Feature] {
  let name = "";
  let feature: Feature | undefined;
  while (!entry.done) {
    const { field, wireType } = entry.tag();
    if (field === 1 && wireType === LEN) {
      const key = entry.sub();
      name = utf8Name(key);
    } else if (field === 2 && wireType === LEN) {
      feature = decodeFeature(entry.sub());
    } else entry.skip(wireType);
  }
  // A Feature with no list set is an empty one; TensorFlow reads it as a zero-length list.
  return [name, feature ?? { kind: "bytes", values: [] }];
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A feature name: a proto3 string, so invalid UTF-8 is refused rather than turned into U+FFFD (which could merge two names). */
function utf8Name(key: WireReader): string {
  try {
    return strictUtf8.decode(key.bytes.subarray(key.pos, key.end));
  } catch {
    throw new Error(`feature name at byte ${key.pos} is not valid UTF-8`);
  }
}

function decodeFeature(reader: WireReader): Feature {
  let feature: Feature = { kind: "bytes", values: [] };
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    const kind = KIND_BY_FIELD[field];
    if (!kind || wireType !== LEN) {
      reader.skip(wireType);
      continue;
    }
    feature = decodeList(kind, reader.sub());
  }
  return feature;
}

function decodeList(kind: FeatureKind, list: WireReader): Feature {
  const bytes: Uint8Array[] = [];
  const numbers: number[] = [];
  while (!list.done) {
    const { field, wireType } = list.tag();
    if (field !== 1) {
      list.skip(wireType);
      continue;
    }
    if (kind === "bytes" && wireType === LEN) {
      const value = list.sub();
      bytes.push(value.bytes.subarray(value.pos, value.end));
    } else if (kind === "float" && wireType === FIXED32) numbers.push(list.float32());
    else if (kind === "int64" && wireType === VARINT) numbers.push(list.int64());
    else if (kind !== "bytes" && wireType === LEN) {
      const packed = list.sub();
      while (!packed.done) numbers.push(kind === "float" ? packed.float32() : packed.int64());
    } else throw new Error(`${kind}_list value at byte ${list.pos} has wire type ${wireType}`);
  }
  return kind === "bytes" ? { kind, values: bytes } : { kind, values: numbers };
}

/** A feature name from a file, for a one-line message: control characters escaped, at most 40 characters. */
function quoted(name: string): string {
  const escaped = JSON.stringify(name).slice(1, -1);
  return `'${escaped.length > 40 ? `${escaped.slice(0, 37)}...` : escaped}'`;
}

/** The values of one feature, or an error naming it when it is missing, of another kind, or of another length. */
export function requireFeature<K extends FeatureKind>(
  features: Features,
  name: string,
  kind: K,
  count?: number,
): ValuesOf<K> {
  const feature = features.get(name);
  const names = [...features.keys()];
  const present = names.slice(0, 8).map(quoted).join(", ") + (names.length > 8 ? `, … (${names.length} in all)` : "") || "none";
  if (!feature) throw new Error(`feature '${name}' is missing (features present: ${present})`);
  if (feature.kind !== kind) {
    throw new Error(`feature '${name}' is a ${feature.kind}_list, expected a ${kind}_list`);
  }
  if (count !== undefined && feature.values.length !== count) {
    throw new Error(`feature '${name}' has ${feature.values.length} values, expected ${count}`);
  }
  return feature.values as ValuesOf<K>;
}

class WireWriter {
  #bytes = new Uint8Array(256);
  length = 0;
  #reserve(n: number): void {
    if (this.length + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.length + n));
    grown.set(this.#bytes.subarray(0, this.length));
    this.#bytes = grown;
  }
  varint(value: number): void {
    this.#reserve(10);
    while (value >= 0x80) {
      this.#bytes[this.length++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.#bytes[this.length++] = value;
  }
  int64(value: number): void {
    if (value >= 0) return this.varint(value);
    // Negative int64: ten-byte two's complement varint.
    const big = BigInt.asUintN(64, BigInt(value));
    this.#reserve(10);
    let rest = big;
    while (rest >= 0x80n) {
      this.#bytes[this.length++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.#bytes[this.length++] = Number(rest);
  }
  raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#bytes.set(bytes, this.length);
    this.length += bytes.length;
  }
  float32(value: number): void {
    this.#reserve(4);
    new DataView(this.#bytes.buffer).setFloat32(this.length, value, true);
    this.length += 4;
  }
  lengthDelimited(field: number, bytes: Uint8Array): void {
    this.varint(field * 8 + LEN);
    this.varint(bytes.length);
    this.raw(bytes);
  }
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.length);
  }
}

function encodeFeature(feature: Feature): Uint8Array {
  const list = new WireWriter();
  if (feature.kind === "bytes") {
    for (const value of feature.values) list.lengthDelimited(1, value);
  } else {
    const packed = new WireWriter();
    for (const value of feature.values) {
      if (feature.kind === "float") packed.float32(value);
      else packed.int64(value);
    }
    list.lengthDelimited(1, packed.finish());
  }
  const out = new WireWriter();
  out.lengthDelimited(FIELD_BY_KIND[feature.kind], list.finish());
  return out.finish();
}

/** Serializes features the way TensorFlow does (packed numeric lists). */
export function encodeExample(features: Record<string, Feature>): Uint8Array {
  const map = new WireWriter();
  for (const [name, feature] of Object.entries(features)) {
    const entry = new WireWriter();
    entry.lengthDelimited(1, new TextEncoder().encode(name));
    entry.lengthDelimited(2, encodeFeature(feature));
    map.lengthDelimited(1, entry.finish());
  }
  const example = new WireWriter();
  example.lengthDelimited(1, map.finish());
  return example.finish();
}
