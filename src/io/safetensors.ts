/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, ... ,
 * "__metadata__"?: { key: string } }`, then the raw little-endian tensor bytes. Tensors keep their
 * names, so PyTorch state dicts travel both ways. On the host, floats are Float32Array (F64 is
 * narrowed and F16/BF16 widened to f32 on load, as the GPU computes in f32) and integers are
 * Int32Array (I64 values must fit in 32 bits).
 */

import { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat } from "./half_float.ts";

/** The stored element types this reader and writer understand. */
export type StoredDType = "F32" | "F64" | "F16" | "BF16" | "I64" | "I32";

/** A tensor's values on the host, row-major. */
export interface HostTensor {
  shape: number[];
  data: Float32Array | Int32Array;
  /** How it is (or was) stored; defaults to F32 for Float32Array and I32 for Int32Array. */
  stored?: StoredDType;
}

export interface SafetensorsContents {
  /** Tensors in the order the header lists them. */
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

const BYTES_PER_ELEMENT: Record<StoredDType, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4 };
/** Tensor data starts at a multiple of this (the header is padded with spaces), as the reference writer does. */
const HEADER_ALIGNMENT = 8;

/** Parses safetensors bytes; `source` (a file name) prefixes every error. */
export function decodeSafetensors(bytes: Uint8Array, source = "safetensors"): SafetensorsContents {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    fail(`header length ${headerLength} exceeds the ${bytes.length - 8} bytes after it`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${oneLine((e as Error).message, 120)})`);
  }
  if (!isRecord(header)) fail("header is not a JSON object");
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, HostTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!isRecord(entry) || Object.values(entry).some((v) => typeof v !== "string")) {
        fail("__metadata__ must map strings to strings");
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const where = `tensor ${brief(name)}`;
    if (!isRecord(entry)) fail(`${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== "string" || !Object.hasOwn(BYTES_PER_ELEMENT, dtype)) {
      fail(`${where}: unsupported dtype ${brief(dtype)} (supported: F32, F64, F16, BF16, I64, I32)`);
    }
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      fail(`${where}: shape ${brief(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      fail(`${where}: data_offsets ${brief(offsets)} is not a pair of non-negative integers`);
    }
    const stored = dtype as StoredDType;
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((n, d) => n * d, 1);
    const expectedBytes = count * BYTES_PER_ELEMENT[stored];
    if (end < begin || end - begin !== expectedBytes) {
      fail(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${stored} [${shape}] needs ${expectedBytes}`);
    }
    if (end > dataLength) fail(`${where}: data_offsets end ${end} is past the ${dataLength} data bytes`);
    spans.push([begin, end, name]);
    const data = decodeValues(new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin), stored, count, where, fail);
    tensors.set(name, { shape: [...shape as number[]], data, stored });
  }
  // The tensors must tile the data section, as the reference reader requires: an overlap would
  // alias two tensors, a gap would hide bytes (e.g. those of a duplicate key that JSON dropped).
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  let previous = "";
  for (const [begin, stop, name] of spans) {
    if (begin < end) fail(`tensors ${brief(previous)} and ${brief(name)} overlap`);
    if (begin > end) fail(`data bytes ${end}..${begin} belong to no tensor (a gap before tensor ${brief(name)})`);
    [end, previous] = [stop, name];
  }
  if (end !== dataLength) fail(`the tensors end at data byte ${end}, but the file has ${dataLength} data bytes`);
  return { tensors, metadata };
}

function decodeValues(
  view: DataView,
  stored: StoredDType,
  count: number,
  where: string,
  fail: (message: string) => never,
): Float32Array | Int32Array {
  switch (stored) {
    case "F32": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case "F64": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case "F16":
    case "BF16": {
      const widen = stored === "F16" ? halfToFloat : bfloat16ToFloat;
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = widen(view.getUint16(2 * i, true));
      return out;
    }
    case "I32": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case "I64": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) fail(`${where}: I64 value ${v} at index ${i} does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    }
  }
}

/** Serialises named host tensors (in the given order) with optional string metadata. */
export function encodeSafetensors(
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const layout: [HostTensor, StoredDType, number][] = [];
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new Error(`safetensors: "__metadata__" cannot name a tensor`);
    const stored = t.stored ?? (t.data instanceof Int32Array ? "I32" : "F32");
    const isInt = stored === "I32" || stored === "I64";
    if (isInt !== (t.data instanceof Int32Array)) {
      throw new Error(`safetensors: tensor "${name}" holds ${t.data.constructor.name} but is to be stored as ${stored}`);
    }
    const count = t.shape.reduce((n, d) => n * d, 1);
    if (count !== t.data.length) {
      throw new Error(`safetensors: tensor "${name}" has ${t.data.length} values for shape [${t.shape}]`);
    }
    const bytes = count * BYTES_PER_ELEMENT[stored];
    header[name] = { dtype: stored, shape: t.shape, data_offsets: [offset, offset + bytes] };
    layout.push([t, stored, offset]);
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  if (padded !== json.length) {
    json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(padded - json.length));
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  const base = 8 + json.length;
  for (const [t, stored, start] of layout) {
    const at = base + start;
    const n = t.data.length;
    for (let i = 0; i < n; i++) {
      const v = t.data[i];
      if (stored === "F32") view.setFloat32(at + 4 * i, v, true);
      else if (stored === "F64") view.setFloat64(at + 8 * i, v, true);
      else if (stored === "F16") view.setUint16(at + 2 * i, floatToHalf(v), true);
      else if (stored === "BF16") view.setUint16(at + 2 * i, floatToBfloat16(v), true);
      else if (stored === "I32") view.setInt32(at + 4 * i, v, true);
      else view.setBigInt64(at + 8 * i, BigInt(v), true);
    }
  }
  return out;
}

/** Reads a safetensors file (Deno). */
export async function readSafetensorsFile(path: string | URL): Promise<SafetensorsContents> {
  const bytes = await denoOnly("readSafetensorsFile").readFile(path);
  return decodeSafetensors(bytes, String(path));
}

/**
 * Writes a safetensors file (Deno) atomically: the bytes go to a temporary file beside the target,
 * which is then renamed over it, so readers never see a half-written checkpoint.
 */
export async function writeSafetensorsFile(
  path: string | URL,
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const fs = denoOnly("writeSafetensorsFile");
  const target = path instanceof URL ? path.pathname : path;
  const temporary = `${target}.tmp-${crypto.randomUUID()}`;
  try {
    await fs.writeFile(temporary, encodeSafetensors(tensors, metadata));
    await fs.rename(temporary, target);
  } catch (e) {
    await fs.remove(temporary).catch(() => {});
    throw new Error(`writeSafetensorsFile ${target}: ${(e as Error).message}`);
  }
}

function denoOnly(op: string): typeof Deno {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno) throw new Error(`${op}: file access needs Deno; in a browser use decodeSafetensors/encodeSafetensors on bytes`);
  return deno;
}

/** A JSON value for an error message: at most 60 characters, even when nested past what stringify survives. */
function brief(value: unknown): string {
  try {
    return oneLine(JSON.stringify(value) ?? String(value), 60);
  } catch {
    return "(nested too deeply to print)";
  }
}

/** Text for a one-line message (V8's JSON errors quote the input, newlines included), cut to `max` characters. */
function oneLine(text: string, max: number): string {
  const escaped = text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
  return escaped.length > max ? `${escaped.slice(0, max - 3)}...` : escaped;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
