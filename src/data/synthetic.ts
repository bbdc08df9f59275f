// An embedded ClickMe-style dataset, drawn procedurally and deterministically: an object (an
// ellipse body whose colour says nothing) carries one class-defining part; the "human" click map
// sits on that part. An optional shortcut — a coloured square in a corner, whose corner and colour
// follow the class in training shards but are random in validation shards — lets a plain model
// cheat where a harmonized one, told to look at the part, should not: the paper's story in small.

import { encodePixelSample, type PixelSample } from "./sample_writer.ts";
import { Random } from "./random.ts";
import { tfrecordBytes } from "./tfrecord_writer.ts";

export const SYNTH_CLASS_NAMES = ["horns", "spots", "tail", "crest", "stripes", "legs"] as const;

export interface SynthOptions {
  split: "train" | "val";
  /** Side of the square images and maps (ClickMe: 256). */
  size?: number;
  /** How many of SYNTH_CLASS_NAMES to use (2..6). */
  classes?: number;
  /** Draw the class-correlated corner mark. */
  shortcut?: boolean;
  /** In training shards, the share of images whose mark matches their class (validation: none beyond chance). */
  shortcutCorrelation?: number;
  seed?: number;
}

type Rgb = [number, number, number];

class Canvas {
  readonly data: Uint8Array;
  constructor(readonly size: number) {
    this.data = new Uint8Array(size * size * 3);
  }
  /** Paints every pixel whose centre satisfies `inside`, within the bounding box. */
  paint(x0: number, y0: number, x1: number, y1: number, color: Rgb, inside: (x: number, y: number) => boolean): void {
    const s = this.size;
    for (let y = Math.max(0, Math.floor(y0)); y < Math.min(s, Math.ceil(y1)); y++) {
      for (let x = Math.max(0, Math.floor(x0)); x < Math.min(s, Math.ceil(x1)); x++) {
        if (!inside(x + 0.5, y + 0.5)) continue;
        const i = 3 * (y * s + x);
        this.data[i] = color[0];
        this.data[i + 1] = color[1];
        this.data[i + 2] = color[2];
      }
    }
  }
  ellipse(cx: number, cy: number, rx: number, ry: number, color: Rgb): void {
    this.paint(cx - rx, cy - ry, cx + rx, cy + ry, color, (x, y) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1);
  }
  ring(cx: number, cy: number, r: number, width: number, color: Rgb): void {
    this.paint(cx - r, cy - r, cx + r, cy + r, color, (x, y) => {
      const d = Math.hypot(x - cx, y - cy);
      return d <= r && d >= r - width;
    });
  }
  rect(x: number, y: number, w: number, h: number, color: Rgb): void {
    this.paint(x, y, x + w, y + h, color, () => true);
  }
  segment(ax: number, ay: number, bx: number, by: number, width: number, color: Rgb): void {
    const [dx, dy] = [bx - ax, by - ay];
    const length2 = dx * dx + dy * dy || 1;
    this.paint(Math.min(ax, bx) - width, Math.min(ay, by) - width, Math.max(ax, bx) + width, Math.max(ay, by) + width, color, (x, y) => {
      const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / length2));
      return Math.hypot(x - ax - t * dx, y - ay - t * dy) <= width / 2;
    });
  }
  triangle(points: [number, number][], color: Rgb): void {
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const edge = (a: [number, number], b: [number, number], x: number, y: number) => (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
    this.paint(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys), color, (x, y) => {
      const e = [edge(points[0], points[1], x, y), edge(points[1], points[2], x, y), edge(points[2], points[0], x, y)];
      return e.every((v) => v >= 0) || e.every((v) => v <= 0);
    });
  }
}

const SHORTCUT_COLORS: Rgb[] = [[255, 0, 0], [0, 220, 0], [0, 80, 255], [255, 230, 0], [255, 0, 255], [0, 230, 230]];

function randomColor(random: Random, lo: number, hi: number): Rgb {
  return [random.uniform(lo, hi), random.uniform(lo, hi), random.uniform(lo, hi)].map(Math.round) as Rgb;
}

/** Draws the class part on the body and returns the points people would click (with weights). */
function drawPart(canvas: Canvas, label: number, body: { cx: number; cy: number; rx: number; ry: number; side: number }, random: Random): [number, number, number][] {
  const s = canvas.size;
  const { cx, cy, rx, ry, side } = body;
  const dark = randomColor(random, 10, 70);
  switch (SYNTH_CLASS_NAMES[label]) {
    case "horns": {
      const h = 0.16 * s;
      for (const dx of [-0.45, 0.45]) {
        const x = cx + dx * rx;
        canvas.triangle([[x - 0.05 * s, cy - ry * 0.8], [x + 0.05 * s, cy - ry * 0.8], [x + dx * 0.05 * s, cy - ry - h]], dark);
      }
      return [[cx - 0.45 * rx, cy - ry - h / 2, 1], [cx + 0.45 * rx, cy - ry - h / 2, 1]];
    }
    case "spots": {
      const points: [number, number, number][] = [];
      for (const t of [-0.5, 0, 0.5]) {
        const [x, y] = [cx + t * rx, cy + t * ry * 0.5];
        canvas.ellipse(x, y, 0.045 * s, 0.045 * s, dark);
        points.push([x, y, 0.8]);
      }
      return points;
    }
    case "tail": {
      const [x0, x1] = [cx + side * rx * 0.9, cx + side * (rx + 0.16 * s)];
      canvas.segment(x0, cy, x1, cy - 0.08 * s, 0.04 * s, dark);
      canvas.ellipse(x1, cy - 0.08 * s, 0.04 * s, 0.04 * s, dark);
      return [[(x0 + x1) / 2, cy - 0.04 * s, 0.7], [x1, cy - 0.08 * s, 1]];
    }
    case "crest": {
      const [x, y] = [cx, cy - ry - 0.06 * s];
      canvas.ring(x, y, 0.08 * s, 0.03 * s, dark);
      return [[x, y, 1]];
    }
    case "stripes": {
      for (const t of [-0.5, 0, 0.5]) canvas.segment(cx + t * rx, cy - ry * 0.85, cx + t * rx, cy + ry * 0.85, 0.035 * s, dark);
      return [[cx - 0.5 * rx, cy, 0.8], [cx, cy, 1], [cx + 0.5 * rx, cy, 0.8]];
    }
    case "legs": {
      const points: [number, number, number][] = [];
      for (const t of [-0.6, -0.2, 0.2, 0.6]) {
        canvas.segment(cx + t * rx, cy + ry * 0.8, cx + t * rx, cy + ry + 0.12 * s, 0.035 * s, dark);
        points.push([cx + t * rx, cy + ry + 0.06 * s, 0.7]);
      }
      return points;
    }
  }
  throw new Error(`no part for class ${label}`);
}

/** Sample `index` of a split: RGB image, gray click map and label, all from (seed, split, index). */
export function synthSample(index: number, options: SynthOptions): PixelSample {
  const size = options.size ?? 64;
  const classes = options.classes ?? 4;
  if (classes < 2 || classes > SYNTH_CLASS_NAMES.length) throw new Error(`classes must be 2..${SYNTH_CLASS_NAMES.length}, got ${classes}`);
  const random = new Random(((options.seed ?? 0) * 2 + (options.split === "val" ? 1 : 0)) * 1_000_003 + index);
  const label = random.int(classes);
  const canvas = new Canvas(size);
  canvas.rect(0, 0, size, size, randomColor(random, 90, 170));
  for (let i = 0; i < 10; i++) {
    const color = randomColor(random, 60, 200);
    const [x, y, r] = [random.uniform(0, size), random.uniform(0, size), random.uniform(0.03, 0.12) * size];
    const shape = random.int(3);
    if (shape === 0) canvas.rect(x, y, r * 1.5, r, color);
    else if (shape === 1) canvas.ellipse(x, y, r, r * 0.7, color);
    else canvas.segment(x, y, random.uniform(0, size), random.uniform(0, size), 0.02 * size, color);
  }
  const body = {
    cx: random.uniform(0.38, 0.62) * size,
    cy: random.uniform(0.45, 0.62) * size,
    rx: random.uniform(0.17, 0.23) * size,
    ry: random.uniform(0.12, 0.16) * size,
    side: 0,
  };
  body.side = body.cx > size / 2 ? -1 : 1; // parts that stick out point to the roomier side
  canvas.ellipse(body.cx, body.cy, body.rx, body.ry, randomColor(random, 120, 255));
  const clicks = drawPart(canvas, label, body, random);
  clicks.push([body.cx, body.cy, 0.25]);

  if (options.shortcut) {
    const correlation = options.split === "train" ? options.shortcutCorrelation ?? 0.9 : 0;
    const markClass = random.next() < correlation ? label : random.int(classes);
    const m = Math.max(3, Math.round(0.1 * size));
    const corner = markClass % 4;
    canvas.rect(corner % 2 ? size - m - 1 : 1, corner < 2 ? 1 : size - m - 1, m, m, SHORTCUT_COLORS[markClass]);
  }
  for (let i = 0; i < canvas.data.length; i++) {
    canvas.data[i] = Math.max(0, Math.min(255, canvas.data[i] + Math.round(random.uniform(-10, 10))));
  }
  return { image: { width: size, height: size, data: canvas.data }, heatmap: clickMap(size, clicks), label };
}

/** Sum of Gaussian blobs at the clicked points, scaled to 0..255. */
function clickMap(size: number, clicks: [number, number, number][]): PixelSample["image"] {
  const values = new Float32Array(size * size);
  const sigma = 0.05 * size;
  let max = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let v = 0;
      for (const [cx, cy, w] of clicks) v += w * Math.exp(-((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2) / (2 * sigma * sigma));
      values[y * size + x] = v;
      max = Math.max(max, v);
    }
  }
  const data = new Uint8Array(size * size);
  for (let i = 0; i < data.length; i++) data[i] = Math.round((255 * values[i]) / max);
  return { width: size, height: size, data };
}

export interface SynthShardOptions extends SynthOptions {
  shards: number;
  recordsPerShard: number;
  gzip?: boolean;
  quality?: number;
}

/** Serialized Examples of shard `shard`, generated lazily. */
export function* synthShardRecords(shard: number, options: SynthShardOptions): Generator<Uint8Array> {
  for (let r = 0; r < options.recordsPerShard; r++) {
    yield encodePixelSample(synthSample(shard * options.recordsPerShard + r, options), options.quality ?? 90);
  }
}

/** Whole shards in memory (demos, browser tests): name → TFRecord bytes. */
export async function synthShards(options: SynthShardOptions): Promise<{ name: string; bytes: Uint8Array }[]> {
  const out = [];
  for (let shard = 0; shard < options.shards; shard++) {
    const name = synthShardName(options.split, shard, options.gzip);
    out.push({ name, bytes: await tfrecordBytes(synthShardRecords(shard, options), { gzip: options.gzip }) });
  }
  return out;
}

export function synthShardName(split: "train" | "val", shard: number, gzip = false): string {
  return `${split}-${shard}.tfrecords${gzip ? ".gz" : ""}`;
}
