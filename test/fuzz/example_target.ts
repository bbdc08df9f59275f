// Fuzz target: tf.train.Example decoding and the ClickMe record layout on top of it. Inputs are
// built field by field so that protobuf-level faults can be placed where they hurt: wrong wire
// types, 2^63 lengths, duplicate keys (the last one wins, as protobuf maps do), deep nesting of
// unknown fields, non-UTF-8 names, NaN/Inf floats, out-of-range labels; byte-level mutations of
// valid Examples come on top. A decoded Example is compared with what was written.

import { parseSample } from "../../src/data/clickme_record.ts";
import { decodeExample, type Feature, type Features } from "../../src/data/example.ts";
import type { Random } from "../../src/data/random.ts";
import { check, concat, type FuzzTarget, mutateBytes, namedError, pick } from "./fuzz.ts";

const VARINT = 0, FIXED64 = 1, LEN = 2, FIXED32 = 5;

function varint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return new Uint8Array(out);
}

const tag = (field: number, wireType: number) => varint(BigInt(field * 8 + wireType));
const len = (field: number, payload: Uint8Array, length = BigInt(payload.length)) => concat(tag(field, LEN), varint(length), payload);

interface Fault {
  /** What the decoder must do with it: decode to `expected`, or refuse it. */
  refused: boolean;
  what: string;
}

/** One feature's list message, packed or not; `badWire` writes a value with a wire type its kind does not allow. */
function encodeList(feature: Feature, random: Random, badWire: boolean): Uint8Array {
  if (feature.kind === "bytes") {
    const values = feature.values.map((v) => len(1, v));
    if (badWire) values.push(concat(tag(1, FIXED32), new Uint8Array(4)));
    return concat(...values);
  }
  const packed = random.int(2) === 0;
  const one = (v: number) => {
    if (feature.kind === "int64") return varint(BigInt(v));
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return b;
  };
  const wire = feature.kind === "int64" ? VARINT : FIXED32;
  const parts = packed ? [len(1, concat(...feature.values.map(one)))] : feature.values.map((v) => concat(tag(1, wire), one(v)));
  if (badWire) parts.push(concat(tag(1, feature.kind === "int64" ? FIXED64 : VARINT), new Uint8Array(8)));
  return concat(...parts);
}

const FIELD = { bytes: 1, float: 2, int64: 3 } as const;

function randomFeature(random: Random): Feature {
  const n = random.int(4);
  switch (random.int(3)) {
    case 0:
      return { kind: "bytes", values: Array.from({ length: n }, () => new Uint8Array(random.int(20)).map(() => random.int(256))) };
    case 1:
      return { kind: "float", values: Array.from({ length: n }, () => pick(random, [NaN, Infinity, -Infinity, -0, 0.5, Math.fround(random.next() * 1e6)])) };
    default:
      return { kind: "int64", values: Array.from({ length: n }, () => pick(random, [0, -1, 7, 2 ** 31, -(2 ** 40), Number.MAX_SAFE_INTEGER])) };
  }
}

/** Unknown field 15 nested 5000 deep: skipped without recursion. */
const DEEP_UNKNOWN = (() => {
  const prefixes: Uint8Array[] = [];
  for (let i = 0, size = 0; i < 5000; i++) {
    const prefix = concat(tag(15, LEN), varint(BigInt(size)));
    prefixes.push(prefix);
    size += prefix.length;
  }
  return concat(...prefixes.reverse());
})();

/** A ClickMe-like Example with extra features and one or more faults written into it. */
function buildExample(random: Random): { bytes: Uint8Array; expected: Map<string, Feature>; faults: Fault[] } {
  const features: [string, Feature][] = [
    ["image", { kind: "bytes", values: [new Uint8Array(30).map(() => random.int(256))] }],
    ["heatmap", { kind: "bytes", values: [new Uint8Array(20).map(() => random.int(256))] }],
    ["label", { kind: "int64", values: [pick(random, [0, 3, 999, -1, 2 ** 31, 2 ** 40])] }],
  ];
  for (let i = 0, n = random.int(3); i < n; i++) features.push([`extra_${random.int(5)}`, randomFeature(random)]);
  const faults: Fault[] = [];
  const expected = new Map<string, Feature>();
  const entries: Uint8Array[] = [];
  for (const [name, feature] of features) {
    const fault = random.int(12);
    let nameBytes = new TextEncoder().encode(name);
    if (fault === 0) {
      nameBytes = concat(nameBytes, new Uint8Array([0xff, 0xfe]));
      faults.push({ refused: true, what: `non-UTF-8 name ${name}` });
    }
    const badWire = fault === 1;
    if (badWire) faults.push({ refused: true, what: `wrong wire type in ${name}` });
    const list = encodeList(feature, random, badWire);
    let featureBytes = len(FIELD[feature.kind], list);
    if (fault === 2) {
      featureBytes = concat(tag(FIELD[feature.kind], LEN), varint(2n ** 63n), list);
      faults.push({ refused: true, what: `2^63 length in ${name}` });
    }
    if (fault === 3) featureBytes = concat(len(9, new Uint8Array([1, 2, 3])), featureBytes); // unknown field: skipped
    entries.push(len(1, concat(len(1, nameBytes), len(2, featureBytes))));
    if (fault === 4) {
      // A duplicate key: an earlier entry for the same name that the later one replaces.
      entries.splice(entries.length - 1, 0, len(1, concat(len(1, nameBytes), len(2, len(3, len(1, varint(5n)))))));
    }
    expected.set(name, feature);
  }
  let map = concat(...entries);
  const deep = random.int(6) === 0;
  if (deep) {
    map = concat(map, DEEP_UNKNOWN);
  }
  const bytes = len(1, map);
  return { bytes, expected, faults };
}

function sameFeature(a: Feature, b: Feature): boolean {
  if (a.kind !== b.kind || a.values.length !== b.values.length) return false;
  return a.values.every((v, i) => {
    const w = b.values[i];
    if (v instanceof Uint8Array && w instanceof Uint8Array) return v.length === w.length && v.every((x, j) => x === w[j]);
    return Object.is(v, w);
  });
}

const NAMED = /at byte \d+|feature '|label/;

export const exampleTarget: FuzzTarget = {
  name: "example",
  setup: () => Promise.resolve(),
  one(random, iteration) {
    const built = buildExample(random);
    const mutated = random.int(3) === 0;
    const bytes = mutated ? mutateBytes(random, built.bytes) : built.bytes;
    const label = `example input ${iteration}${mutated ? " (bytes mutated)" : ""} [${built.faults.map((f) => f.what).join(", ")}]`;
    let features: Features;
    try {
      features = decodeExample(bytes);
    } catch (e) {
      check(mutated || built.faults.some((f) => f.refused), `${label}: a valid Example was refused: ${e}`);
      return Promise.resolve(namedError(e, NAMED, label));
    }
    check(mutated || !built.faults.some((f) => f.refused), `${label}: decoded although it should have been refused`);
    for (const feature of features.values()) {
      if (feature.kind !== "bytes") continue;
      for (const value of feature.values) {
        check(value.buffer === bytes.buffer && value.byteOffset + value.length <= bytes.byteOffset + bytes.length, `${label}: a bytes value points outside the record`);
      }
    }
    if (!mutated) {
      check(features.size === built.expected.size, `${label}: ${features.size} features decoded, ${built.expected.size} written`);
      for (const [name, feature] of built.expected) {
        const got = features.get(name);
        check(got !== undefined && sameFeature(got, feature), `${label}: feature '${name}' decoded as ${JSON.stringify(got)}, written ${JSON.stringify(feature)}`);
      }
    }
    try {
      const sample = parseSample(features, "clickme");
      check(Number.isInteger(sample.label) && sample.label >= 0 && sample.label < 2 ** 31, `${label}: label ${sample.label} accepted`);
      return Promise.resolve({ ok: true as const });
    } catch (e) {
      return Promise.resolve(namedError(e, NAMED, label));
    }
  },
};
