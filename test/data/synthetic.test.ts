import { assert, assertEquals, test } from "../harness.ts";
import { synthSample } from "../../src/data/synthetic.ts";

const SHORTCUT_COLORS = [[255, 0, 0], [0, 220, 0], [0, 80, 255], [255, 230, 0]];

/** Which class's mark sits in which corner, read back from the pixels (−1: none recognisable). */
function markClass(data: Uint8Array, size: number): number {
  const m = Math.round(0.1 * size);
  for (let corner = 0; corner < 4; corner++) {
    const x = (corner % 2 ? size - m - 1 : 1) + (m >> 1);
    const y = (corner < 2 ? 1 : size - m - 1) + (m >> 1);
    const i = 3 * (y * size + x);
    const cls = SHORTCUT_COLORS.findIndex((c) => c.every((v, k) => Math.abs(v - data[i + k]) <= 12));
    if (cls === corner) return cls;
  }
  return -1;
}

test("data/synthetic: deterministic samples with labels in range", () => {
  const a = synthSample(7, { split: "train", size: 48, classes: 5 });
  const b = synthSample(7, { split: "train", size: 48, classes: 5 });
  assertEquals([...a.image.data.subarray(0, 64)], [...b.image.data.subarray(0, 64)]);
  assertEquals(a.label, b.label);
  const v = synthSample(7, { split: "val", size: 48, classes: 5 });
  assert([...v.image.data.subarray(0, 64)].join() !== [...a.image.data.subarray(0, 64)].join(), "val differs from train");
  const labels = new Set(Array.from({ length: 60 }, (_, i) => synthSample(i, { split: "train", size: 16, classes: 5 }).label));
  assertEquals([...labels].sort(), [0, 1, 2, 3, 4]);
});

test("data/synthetic: the shortcut follows the class in train and not in val", () => {
  const agreement = (split: "train" | "val") => {
    let agree = 0;
    const n = 80;
    for (let i = 0; i < n; i++) {
      const s = synthSample(i, { split, size: 48, classes: 4, shortcut: true });
      if (markClass(s.image.data, 48) === s.label) agree++;
    }
    return agree / n;
  };
  const train = agreement("train"), val = agreement("val");
  assert(train > 0.8, `train agreement ${train}`);
  assert(val < 0.45, `val agreement ${val}`);
});

test("data/synthetic: the click map peaks on the object, away from the shortcut corners", () => {
  const size = 64;
  for (let i = 0; i < 20; i++) {
    const s = synthSample(i, { split: "train", size, shortcut: true });
    const map = s.heatmap!.data;
    let peak = 0;
    for (let p = 1; p < map.length; p++) if (map[p] > map[peak]) peak = p;
    const [x, y] = [peak % size, Math.floor(peak / size)];
    const inCorner = (x < 10 || x >= size - 10) && (y < 10 || y >= size - 10);
    assert(!inCorner, `sample ${i}: peak at (${x}, ${y})`);
    const corner = map[2 * size + 2] + map[2 * size + size - 3] + map[(size - 3) * size + 2] + map[(size - 3) * size + size - 3];
    assert(corner < 40, `sample ${i}: corners carry ${corner}`);
  }
});
