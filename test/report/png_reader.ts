/**
 * An independent PNG reader for tests: checks the signature and every chunk's CRC, inflates the
 * IDAT stream and undoes the filters (all five types), so what the writer produced is verified
 * rather than assumed.
 */
import { crc32 } from "../../src/io/png.ts";

export interface DecodedPng {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export async function decodePng(bytes: Uint8Array): Promise<DecodedPng> {
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  if (signature.some((b, i) => bytes[i] !== b)) throw new Error("not a PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let width = 0, height = 0, channels = 0;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (offset < bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== view.getUint32(offset + 8 + length)) throw new Error(`${type}: bad CRC`);
    if (type === "IHDR") {
      const h = new DataView(body.buffer, body.byteOffset, body.byteLength);
      [width, height] = [h.getUint32(0), h.getUint32(4)];
      if (body[8] !== 8) throw new Error(`bit depth ${body[8]}`);
      channels = CHANNELS[body[9]];
      if (!channels || body[12] !== 0) throw new Error(`colour type ${body[9]} / interlace ${body[12]}`);
    } else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") ended = true;
    offset += 12 + length;
  }
  if (!ended || !width) throw new Error("missing IHDR or IEND");
  const raw = await inflate(new Uint8Array(idat.flatMap((c) => [...c])));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`IDAT holds ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const predicted = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      if (predicted === undefined) throw new Error(`filter type ${filter}`);
      pixels[y * stride + x] = (v + predicted) & 255;
    }
  }
  return { width, height, channels, pixels };
}

/** Decodes a `data:image/png;base64,…` URL. */
export function decodePngDataUrl(url: string): Promise<DecodedPng> {
  const prefix = "data:image/png;base64,";
  if (!url.startsWith(prefix)) throw new Error(`not a PNG data URL: ${url.slice(0, 40)}`);
  return decodePng(Uint8Array.from(atob(url.slice(prefix.length)), (c) => c.charCodeAt(0)));
}
