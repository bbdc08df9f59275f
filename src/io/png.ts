/**
 * A small PNG writer (8-bit gray, RGB or RGBA, no filtering) for self-contained reports: the
 * pixels are deflated with `CompressionStream("deflate")` (zlib framing, as PNG's IDAT wants),
 * which Deno and browsers both provide, and each chunk carries its CRC-32.
 */

/** Pixels row-major, `channels` bytes per pixel. */
export interface RasterImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** PNG colour types by channel count: gray, truecolour, truecolour with alpha. */
const COLOR_TYPE: Record<RasterImage["channels"], number> = { 1: 0, 3: 2, 4: 6 };

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, the polynomial of PNG and zlib's crc32). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function deflate(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

export async function encodePng(image: RasterImage): Promise<Uint8Array> {
  const { width, height, channels, data } = image;
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new Error(`encodePng: size ${width}×${height} is not a positive integer size`);
  }
  if (!(channels in COLOR_TYPE)) throw new Error(`encodePng: ${channels} channels (supported: 1, 3, 4)`);
  const stride = width * channels;
  if (data.length !== height * stride) {
    throw new Error(`encodePng: ${data.length} bytes for a ${width}×${height} image of ${channels} channels (needs ${height * stride})`);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, COLOR_TYPE[channels], 0, 0, 0], 8); // bit depth, colour type, compression, filter, interlace
  // Each scanline starts with its filter type, 0 (none).
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const parts = [Uint8Array.from(SIGNATURE), chunk("IHDR", header), chunk("IDAT", await deflate(raw)), chunk("IEND", new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The image as a `data:image/png;base64,…` URL, embeddable in HTML without any file beside it. */
export async function pngDataUrl(image: RasterImage): Promise<string> {
  return `data:image/png;base64,${base64(await encodePng(image))}`;
}
