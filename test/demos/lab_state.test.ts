/** The lab's pure parts: settings in the URL hash, and the scores of a painted map. */
import { formatHash, parseHash } from "../../demos/lab/hash_state.ts";
import { scorePaintedMap, stamp } from "../../demos/lab/painted_map.ts";
import type { LabSettings } from "../../demos/lab/protocol.ts";
import { HUMAN_CEILING } from "../../src/harmonize/metrics.ts";
import { assert, assertEquals, test } from "../harness.ts";

const DEFAULTS: LabSettings = {
  seed: 0, records: 512, model: "resnet", lambdaH: 1, lr: 0.02, batchSize: 16, steps: 120, evalEvery: 20, autosaveEvery: 10,
};

test("lab: settings survive the URL hash, which lists only what differs from the defaults", () => {
  const settings: LabSettings = { ...DEFAULTS, seed: 7, model: "vit", lambdaH: 2.5 };
  const hash = formatHash(settings, DEFAULTS);
  assertEquals(hash, "#seed=7&model=vit&lambdaH=2.5");
  assertEquals(parseHash(hash, DEFAULTS), { settings, problems: [] });
  assertEquals(formatHash(DEFAULTS, DEFAULTS), "");
});

test("lab: a hash with bad values keeps the defaults for them and names each problem", () => {
  const { settings, problems } = parseHash("#seed=-1&model=cnn&batchSize=2.5&lr=&colour=red&steps=40", DEFAULTS);
  assertEquals(settings, { ...DEFAULTS, steps: 40 });
  assertEquals(problems, [
    "seed must be an integer from 0 to 2147483647, got -1",
    'model must be one of resnet, vit, got "cnn"',
    "batchSize must be an integer from 1 to 256, got 2.5",
    "lr must be a number from 0 to 10, got NaN",
    'unknown setting "colour" in the link',
  ]);
});

test("lab: a painted map scores ρ = 1 against a map of the same ranking and −1 against its reverse", () => {
  const size = 8;
  const painted = new Float32Array(size * size);
  stamp(painted, size, 2.5, 3.5, 2);
  assert(painted.some((v) => v > 0) && painted.every((v) => v >= 0 && v <= 1), "the brush paints values in [0, 1]");
  const same = painted.map((v) => 3 * v + 1);
  const reversed = painted.map((v) => -v);
  const [a, b] = scorePaintedMap(painted, { same, reversed });
  assertEquals([a.against, b.against], ["same", "reversed"]);
  assert(Math.abs(a.spearman - 1) < 1e-12 && Math.abs(b.spearman + 1) < 1e-12, `${a.spearman}, ${b.spearman}`);
  assert(Math.abs(a.alignment - 1 / HUMAN_CEILING) < 1e-12, `alignment ${a.alignment}`);
});
