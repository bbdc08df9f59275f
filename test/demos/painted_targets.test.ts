/** The lab's painted targets: which one each step trains on, and their file in the run folder. */
import { PAINTED_TARGETS_FILE, type PaintedTarget, PaintedTargets } from "../../demos/lab/painted_targets.ts";
import { encodeSafetensors } from "../../src/io/safetensors.ts";
import { MemoryStorage } from "../../src/run/mod.ts";
import { assertEquals, assertRejects, test } from "../harness.ts";

const SIZE = 4;

function target(label: number, addedAfter: number): PaintedTarget {
  return {
    image: Float32Array.from({ length: 3 * SIZE * SIZE }, (_, i) => label + i / 100),
    map: Float32Array.from({ length: SIZE * SIZE }, (_, i) => (i === label ? 1 : 0)),
    label,
    addedAfter,
  };
}

test("lab: a painted target trains from the step after it was added, and targets take turns by step", async () => {
  const painted = new PaintedTargets(SIZE);
  const storage = new MemoryStorage();
  await painted.add(target(0, 3), storage);
  await painted.add(target(1, 5), storage);
  const labels = [1, 3, 4, 5, 6, 7, 8].map((step) => painted.forStep(step)?.label ?? null);
  // Steps 1–3 had none; 4 and 5 only the first; from 6 on both, by the step's parity.
  assertEquals(labels, [null, null, 0, 0, 0, 1, 0]);
});

test("lab: painted targets come back from the run folder as they were saved, a fresh folder has none", async () => {
  const storage = new MemoryStorage();
  assertEquals((await PaintedTargets.load(storage, SIZE)).targets, []);
  const painted = new PaintedTargets(SIZE);
  await storage.write(PAINTED_TARGETS_FILE, painted.encode());
  assertEquals((await PaintedTargets.load(storage, SIZE)).targets, []);
  await painted.add(target(2, 7), storage);
  await painted.add(target(3, 1), storage);
  assertEquals((await PaintedTargets.load(storage, SIZE)).targets, painted.targets);
});

/** A run folder on a full disk. */
class FullStorage extends MemoryStorage {
  override write(): Promise<void> {
    return Promise.reject(new Error("no space left"));
  }
}

test("lab: a painted target whose file cannot be written is not added; a foreign file is an error naming it", async () => {
  const painted = new PaintedTargets(SIZE);
  await assertRejects(() => painted.add(target(0, 0), new FullStorage()), /^no space left$/);
  assertEquals(painted.targets.length, 0);

  const storage = new MemoryStorage();
  await storage.write(PAINTED_TARGETS_FILE, encodeSafetensors({ images: { shape: [1], data: new Float32Array(1) } }));
  await assertRejects(() => PaintedTargets.load(storage, SIZE), new RegExp(`^memory:${PAINTED_TARGETS_FILE}: not the painted targets of 4×4 images`));
});
