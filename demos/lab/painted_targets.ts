/**
 * The maps a student painted and added to the harmonized model's targets, kept in the run folder
 * (painted_targets.safetensors) so that a resumed run trains on the same batches. Each target
 * remembers the step after which it joined; which one replaces the last image of a batch depends
 * only on the step that batch trains, so a run resumed from any autosave (even one written before
 * a target was added) replays the batches of the run that was interrupted.
 */
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.ts";
import type { RunStorage } from "../../src/run/mod.ts";

export const PAINTED_TARGETS_FILE = "painted_targets.safetensors";

export interface PaintedTarget {
  /** The validation image, [3, size, size]. */
  image: Float32Array;
  /** The painted map, [size, size]. */
  map: Float32Array;
  label: number;
  /** Steps the run had completed when the target was added: it trains from the next one on. */
  addedAfter: number;
}

export class PaintedTargets {
  readonly targets: PaintedTarget[] = [];

  constructor(readonly size: number) {}

  /** The target that replaces the last image of the batch of `step` (1-based): those added before it, in turn. */
  forStep(step: number): PaintedTarget | null {
    const joined = this.targets.filter((t) => t.addedAfter < step);
    return joined.length ? joined[step % joined.length] : null;
  }

  /** Adds a target and writes the file before it takes effect; a failed write leaves the targets as they were. */
  async add(target: PaintedTarget, storage: RunStorage): Promise<void> {
    this.targets.push(target);
    try {
      await storage.write(PAINTED_TARGETS_FILE, this.encode());
    } catch (e) {
      this.targets.pop();
      throw e;
    }
  }

  encode(): Uint8Array {
    const n = this.targets.length;
    const plane = this.size * this.size;
    const images = new Float32Array(n * 3 * plane);
    const maps = new Float32Array(n * plane);
    this.targets.forEach((t, i) => {
      images.set(t.image, 3 * plane * i);
      maps.set(t.map, plane * i);
    });
    return encodeSafetensors(new Map([
      ["images", { shape: [n, 3, this.size, this.size], data: images }],
      ["maps", { shape: [n, this.size, this.size], data: maps }],
      ["labels", { shape: [n], data: Int32Array.from(this.targets, (t) => t.label), stored: "I64" }],
      ["added_after", { shape: [n], data: Int32Array.from(this.targets, (t) => t.addedAfter), stored: "I64" }],
    ]));
  }

  /** The run folder's painted targets (none when it has no file); a file of another image size is an error naming it. */
  static async load(storage: RunStorage, size: number): Promise<PaintedTargets> {
    const loaded = new PaintedTargets(size);
    const bytes = await storage.read(PAINTED_TARGETS_FILE);
    if (bytes === null) return loaded;
    const where = storage.describe(PAINTED_TARGETS_FILE);
    const { tensors } = decodeSafetensors(bytes, where);
    const [images, maps, labels, addedAfter] = ["images", "maps", "labels", "added_after"].map((name) => tensors.get(name));
    const n = labels?.shape[0] ?? 0;
    const plane = size * size;
    if (!images || !maps || !labels || !addedAfter || images.data.length !== n * 3 * plane || maps.data.length !== n * plane || addedAfter.data.length !== n) {
      throw new Error(`${where}: not the painted targets of ${size}×${size} images (images, maps, labels, added_after)`);
    }
    for (let i = 0; i < n; i++) {
      loaded.targets.push({
        image: Float32Array.from(images.data.subarray(3 * plane * i, 3 * plane * (i + 1))),
        map: Float32Array.from(maps.data.subarray(plane * i, plane * (i + 1))),
        label: labels.data[i],
        addedAfter: addedAfter.data[i],
      });
    }
    return loaded;
  }
}
