// A small baseline JPEG encoder (JFIF, 8-bit, Huffman tables of Annex K, no subsampling) for the
// writer and the embedded dataset. It writes one-component JPEGs for maps, as ClickMe stores them,
// produces the same bytes in every runtime, and has no per-call setup (jpeg-js rebuilds ~200 KB of
// tables on every call, 20 ms before the first pixel).

const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
];

// Annex K.1 quantisation tables (natural order), scaled by quality as libjpeg does.
const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
  87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120,
  101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99,
  99, 99, 99, ...new Array(32).fill(99),
];

// Annex K.3 Huffman tables: code counts per length 1..16, then symbols.
interface HuffmanSpec {
  counts: number[];
  symbols: number[];
}
/** The AC symbol lists are long byte tables, written as hex the way Annex K prints them. */
const hexBytes = (hex: string): number[] => hex.match(/../g)!.map((byte) => parseInt(byte, 16));
const LUMA_DC: HuffmanSpec = { counts: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], symbols: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const CHROMA_DC: HuffmanSpec = { counts: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], symbols: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const LUMA_AC: HuffmanSpec = {
  counts: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  symbols: hexBytes(
    "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a34353637" +
    "38393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3" +
    "a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa",
  ),
};
const CHROMA_AC: HuffmanSpec = {
  counts: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  symbols: hexBytes(
    "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a3536" +
    "3738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999a" +
    "a2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa",
  ),
};

interface HuffmanTable {
  codes: Uint16Array;
  lengths: Uint8Array;
}

/** Canonical codes from counts and symbols (JPEG Annex C). */
function buildHuffman(spec: HuffmanSpec): HuffmanTable {
  const codes = new Uint16Array(256);
  const lengths = new Uint8Array(256);
  let code = 0, k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < spec.counts[length - 1]; i++) {
      codes[spec.symbols[k]] = code++;
      lengths[spec.symbols[k++]] = length;
    }
    code <<= 1;
  }
  return { codes, lengths };
}

const TABLES = {
  lumaDc: buildHuffman(LUMA_DC),
  lumaAc: buildHuffman(LUMA_AC),
  chromaDc: buildHuffman(CHROMA_DC),
  chromaAc: buildHuffman(CHROMA_AC),
};

// cos((2x+1)uπ/16)·c(u)/2 for the separable forward DCT.
const DCT = new Float64Array(64);
for (let u = 0; u < 8; u++) {
  for (let x = 0; x < 8; x++) DCT[u * 8 + x] = (u === 0 ? Math.SQRT1_2 : 1) * Math.cos(((2 * x + 1) * u * Math.PI) / 16) / 2;
}

function scaledQuant(base: number[], quality: number): Uint8Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  return Uint8Array.from(base, (v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
}

class BitWriter {
  bytes = new Uint8Array(4096);
  length = 0;
  #acc = 0;
  #bits = 0;
  byte(b: number): void {
    if (this.length === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.length++] = b;
  }
  word(w: number): void {
    this.byte(w >> 8);
    this.byte(w & 0xff);
  }
  /** Entropy-coded bits (count ≤ 16), most significant first, with 0xFF stuffed as FF 00. */
  bits(value: number, count: number): void {
    this.#acc = (this.#acc << count) | (value & ((1 << count) - 1));
    this.#bits += count;
    while (this.#bits >= 8) {
      const b = (this.#acc >> (this.#bits - 8)) & 0xff;
      this.byte(b);
      if (b === 0xff) this.byte(0);
      this.#bits -= 8;
    }
    this.#acc &= (1 << this.#bits) - 1;
  }
  /** Pads the last byte with 1 bits, as the standard asks. */
  flush(): void {
    if (this.#bits > 0) this.bits((1 << (8 - this.#bits)) - 1, 8 - this.#bits);
  }
}

/** Magnitude category and its extra bits (negative values as one's complement). */
function category(value: number): [number, number] {
  const magnitude = Math.abs(value);
  let size = 0;
  while (magnitude >> size) size++;
  return [size, value < 0 ? value + (1 << size) - 1 : value];
}

function writeHeaders(out: BitWriter, width: number, height: number, quants: Uint8Array[], channels: 1 | 3): void {
  out.word(0xffd8);
  out.word(0xffe0); // APP0 JFIF 1.1, no density
  out.word(16);
  for (const b of [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]) out.byte(b);
  quants.forEach((quant, id) => {
    out.word(0xffdb);
    out.word(67);
    out.byte(id);
    for (let i = 0; i < 64; i++) out.byte(quant[ZIGZAG[i]]);
  });
  out.word(0xffc0); // SOF0: baseline
  out.word(8 + 3 * channels);
  out.byte(8);
  out.word(height);
  out.word(width);
  out.byte(channels);
  for (let c = 0; c < channels; c++) {
    out.byte(c + 1);
    out.byte(0x11); // no subsampling
    out.byte(c === 0 ? 0 : 1);
  }
  const specs: [number, HuffmanSpec][] = [[0x00, LUMA_DC], [0x10, LUMA_AC]];
  if (channels === 3) specs.push([0x01, CHROMA_DC], [0x11, CHROMA_AC]);
  for (const [id, spec] of specs) {
    out.word(0xffc4);
    out.word(3 + 16 + spec.symbols.length);
    out.byte(id);
    for (const count of spec.counts) out.byte(count);
    for (const symbol of spec.symbols) out.byte(symbol);
  }
  out.word(0xffda);
  out.word(6 + 2 * channels);
  out.byte(channels);
  for (let c = 0; c < channels; c++) {
    out.byte(c + 1);
    out.byte(c === 0 ? 0x00 : 0x11);
  }
  out.byte(0);
  out.byte(63);
  out.byte(0);
}

/** Forward DCT, quantisation and Huffman coding of one 8×8 block; returns the new DC predictor. */
const rows = new Float64Array(64);
const coefficients = new Int32Array(64);

function encodeBlock(out: BitWriter, block: Float64Array, quant: Uint8Array, previousDc: number, dc: HuffmanTable, ac: HuffmanTable): number {
  for (let y = 0; y < 8; y++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let x = 0; x < 8; x++) sum += DCT[u * 8 + x] * block[y * 8 + x];
      rows[y * 8 + u] = sum;
    }
  }
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let y = 0; y < 8; y++) sum += DCT[v * 8 + y] * rows[y * 8 + u];
      coefficients[v * 8 + u] = Math.round(sum / quant[v * 8 + u]);
    }
  }
  const [dcSize, dcBits] = category(coefficients[0] - previousDc);
  out.bits(dc.codes[dcSize], dc.lengths[dcSize]);
  out.bits(dcBits, dcSize);
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const value = coefficients[ZIGZAG[k]];
    if (value === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      out.bits(ac.codes[0xf0], ac.lengths[0xf0]);
      run -= 16;
    }
    const [size, bits] = category(value);
    const symbol = (run << 4) | size;
    out.bits(ac.codes[symbol], ac.lengths[symbol]);
    out.bits(bits, size);
    run = 0;
  }
  if (run > 0) out.bits(ac.codes[0], ac.lengths[0]);
  return coefficients[0];
}

/** Encodes interleaved RGB (3 channels, stored as YCbCr) or gray (1 channel) bytes as a baseline JPEG. */
export function encodeJpeg(pixels: Uint8Array, width: number, height: number, channels: 1 | 3, quality = 90): Uint8Array {
  if (pixels.length !== width * height * channels) {
    throw new Error(`encodeJpeg: ${pixels.length} bytes for ${width}×${height}×${channels}`);
  }
  if (width < 1 || height < 1 || width > 65535 || height > 65535) throw new Error(`encodeJpeg: bad size ${width}×${height}`);
  const quants = [scaledQuant(LUMA_QUANT, quality)];
  if (channels === 3) quants.push(scaledQuant(CHROMA_QUANT, quality));
  const out = new BitWriter();
  writeHeaders(out, width, height, quants, channels);
  const predictors = [0, 0, 0];
  const block = new Float64Array(64);
  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < 8; y++) {
          const sy = Math.min(by + y, height - 1); // edge blocks repeat the last row/column
          for (let x = 0; x < 8; x++) {
            const p = (sy * width + Math.min(bx + x, width - 1)) * channels;
            block[y * 8 + x] = channels === 1 ? pixels[p] - 128 : ycc(pixels[p], pixels[p + 1], pixels[p + 2], c);
          }
        }
        const [dc, ac] = c === 0 ? [TABLES.lumaDc, TABLES.lumaAc] : [TABLES.chromaDc, TABLES.chromaAc];
        predictors[c] = encodeBlock(out, block, quants[c === 0 ? 0 : 1], predictors[c], dc, ac);
      }
    }
  }
  out.flush();
  out.word(0xffd9);
  return out.bytes.slice(0, out.length);
}

/** JFIF RGB → Y, Cb or Cr, level-shifted by −128. */
function ycc(r: number, g: number, b: number, component: number): number {
  if (component === 0) return 0.299 * r + 0.587 * g + 0.114 * b - 128;
  if (component === 1) return -0.168736 * r - 0.331264 * g + 0.5 * b;
  return 0.5 * r - 0.418688 * g - 0.081312 * b;
}
