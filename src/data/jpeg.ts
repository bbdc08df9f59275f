// JPEG decoding with the fastest decoder each runtime offers: the browser's own (createImageBitmap
// + OffscreenCanvas) or, in Deno, MozJPEG compiled to WebAssembly (@jsquash/jpeg), which measured
// 2–4× faster than the pure-JS jpeg-js on 256×256 ClickMe-like images (bench/data; docs/data.md).

export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Interleaved HWC bytes. */
  data: Uint8Array;
}

export type JpegDecoder = (bytes: Uint8Array, channels: 1 | 3) => Promise<DecodedImage>;
export type JpegDecoderKind = "native" | "wasm";

/** Throws unless the bytes start with a JPEG SOI marker, naming what they start with instead. */
export function assertJpeg(bytes: Uint8Array): void {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return;
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  throw new Error(`not a JPEG (${bytes.length} bytes starting with ${head || "nothing"})`);
}

/** Largest image decoded (64 Mpixel, 8192²): a forged frame header must not size an allocation. */
export const MAX_JPEG_PIXELS = 2 ** 26;

/** Width, height and component count from the frame header, without decoding. */
export function jpegInfo(bytes: Uint8Array): { width: number; height: number; components: number } {
  assertJpeg(bytes);
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) throw new Error(`corrupt JPEG: no marker at byte ${i}`);
    if (bytes[i + 1] === 0xff) { // fill byte before a marker
      i++;
      continue;
    }
    const marker = bytes[i + 1];
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      return {
        height: (bytes[i + 5] << 8) | bytes[i + 6],
        width: (bytes[i + 7] << 8) | bytes[i + 8],
        components: bytes[i + 9],
      };
    }
    i += 2 + length;
  }
  throw new Error("corrupt JPEG: no frame header");
}

/** Whether an end-of-image marker follows the first scan (a thumbnail's own EOI comes before it). */
function endsAfterScan(bytes: Uint8Array): boolean {
  let i = 2;
  while (i + 3 < bytes.length) {
    if (bytes[i] !== 0xff) return false;
    if (bytes[i + 1] === 0xff) { // fill byte before a marker
      i++;
      continue;
    }
    if (bytes[i + 1] === 0xda) break;
    i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
  }
  for (let j = bytes.length - 2; j > i; j--) if (bytes[j] === 0xff && bytes[j + 1] === 0xd9) return true;
  return false;
}

/**
 * What both decoders need checked first: a frame size no ClickMe image exceeds (before a decoder
 * allocates for it), and an end marker — a browser decodes a truncated JPEG without complaint,
 * gray below the cut (found by the fuzz tests in Chromium).
 */
function checkJpeg(bytes: Uint8Array): void {
  const { width, height } = jpegInfo(bytes);
  if (width === 0 || height === 0) throw new Error(`corrupt JPEG: frame header says ${width}×${height}`);
  if (width * height > MAX_JPEG_PIXELS) {
    throw new Error(`JPEG is ${width}×${height}, over the ${MAX_JPEG_PIXELS}-pixel limit`);
  }
  if (!endsAfterScan(bytes)) throw new Error("corrupt JPEG: no end-of-image marker after the scan (truncated?)");
}

/** RGBA → RGB, or → gray with BT.601 luma (what libjpeg yields for a color JPEG read as gray). */
export function fromRgba(rgba: ArrayLike<number>, width: number, height: number, channels: 1 | 3): DecodedImage {
  const n = width * height;
  const data = new Uint8Array(n * channels);
  if (channels === 3) {
    for (let p = 0; p < n; p++) {
      data[3 * p] = rgba[4 * p];
      data[3 * p + 1] = rgba[4 * p + 1];
      data[3 * p + 2] = rgba[4 * p + 2];
    }
  } else {
    for (let p = 0; p < n; p++) {
      data[p] = Math.round(0.299 * rgba[4 * p] + 0.587 * rgba[4 * p + 1] + 0.114 * rgba[4 * p + 2]);
    }
  }
  return { width, height, channels, data };
}

function nativeAvailable(): boolean {
  return typeof createImageBitmap === "function" && typeof OffscreenCanvas === "function" &&
    typeof (globalThis as { Deno?: unknown }).Deno === "undefined";
}

/** The part of OffscreenCanvasRenderingContext2D used here (Deno's types lack the interface). */
interface Canvas2D {
  drawImage(image: ImageBitmap, x: number, y: number): void;
  getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
}

const nativeDecoder: JpegDecoder = async (bytes, channels) => {
  checkJpeg(bytes);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as BlobPart], { type: "image/jpeg" }), {
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
  } catch (e) {
    throw new Error(`corrupt JPEG: ${e instanceof Error ? e.message : e}`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true }) as unknown as Canvas2D;
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  return fromRgba(pixels, canvas.width, canvas.height, channels);
};

async function loadWasmDecoder(): Promise<JpegDecoder> {
  const { default: decode, init } = await import("@jsquash/jpeg/decode.js");
  // libjpeg reports damage such as "Premature end of JPEG file" as a warning and returns a
  // half-gray image; catching its messages turns that into an error.
  const warnings: string[] = [];
  const print = (message: string) => warnings.push(message);
  const moduleOptions = { print, printErr: print };
  let start: () => Promise<void>;
  if (typeof (globalThis as { Deno?: unknown }).Deno !== "undefined") {
    // Deno is neither "web" nor "node" to Emscripten's loader, so hand it the compiled module.
    const url = import.meta.resolve("@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm");
    const module = await WebAssembly.compile(await (await fetch(url)).arrayBuffer());
    // The typings omit the (module, options) form that decode.js implements.
    start = () => (init as unknown as (m: WebAssembly.Module, o: object) => Promise<void>)(module, moduleOptions);
  } else start = () => init(moduleOptions as object);
  await start();
  const said = () => warnings.slice(0, 3).join("; ").slice(0, 200);
  return async (bytes, channels) => {
    checkJpeg(bytes);
    warnings.length = 0;
    let image: ImageData;
    try {
      image = await decode(bytes.slice().buffer);
    } catch (e) {
      // libjpeg's error exit leaks its buffers inside the instance; after a few hundred damaged
      // JPEGs every decode failed (found by bench/fuzz), so a failure gets a fresh instance.
      await start();
      // Emscripten throws plain objects; libjpeg's own words are in `warnings` then.
      const detail = e instanceof Error ? e.message : typeof e === "string" ? e : "the decoder gave up";
      throw new Error(`corrupt JPEG: ${[said(), detail].filter(Boolean).join("; ")}`);
    }
    if (warnings.length > 0) throw new Error(`corrupt JPEG: ${said()}`);
    return fromRgba(image.data, image.width, image.height, channels);
  };
}

let wasmDecoder: Promise<JpegDecoder> | undefined;

/** The decoder for this runtime, or a named one (for benchmarks and tests). */
export function jpegDecoder(kind: JpegDecoderKind = nativeAvailable() ? "native" : "wasm"): Promise<JpegDecoder> {
  if (kind === "native") {
    if (!nativeAvailable()) throw new Error("no native JPEG decoder here (needs createImageBitmap and OffscreenCanvas)");
    return Promise.resolve(nativeDecoder);
  }
  return wasmDecoder ??= loadWasmDecoder();
}
