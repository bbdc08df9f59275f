import { alignmentScore, averageRanks, dice, HUMAN_CEILING, intersectionOverUnion, percentile, spearman } from "../../src/harmonize/metrics.ts";
import { assertClose, assertEquals, readRepoFile, test } from "../harness.ts";

test("average ranks share ties like scipy.stats.rankdata", () => {
  assertEquals(Array.from(averageRanks([10, 20, 10, 30, 20, 20])), [1.5, 4, 1.5, 6, 4, 4]);
});

test("percentile interpolates linearly like numpy", () => {
  assertClose([percentile([1, 2, 3, 4], 90), percentile([5], 90), percentile([3, 1, 2], 50)], [3.7, 5, 2]);
});

test("Spearman, Dice and IoU with ties match scipy/numpy (golden)", async () => {
  const f = JSON.parse(new TextDecoder().decode(await readRepoFile("test/fixtures/harmonizer_loss.json"))).metrics;
  const pixels = f.shape[1] * f.shape[2];
  for (let i = 0; i < f.shape[0]; i++) {
    const a = f.a.slice(i * pixels, (i + 1) * pixels);
    const b = f.b.slice(i * pixels, (i + 1) * pixels);
    assertClose([spearman(a, b)], [f.spearman[i]], { rtol: 1e-12, atol: 1e-12 }, `spearman ${i}`);
    assertClose([dice(a, b)], [f.dice[i]], { rtol: 1e-12, atol: 1e-12 }, `dice ${i}`);
    assertClose([intersectionOverUnion(a, b)], [f.iou[i]], { rtol: 1e-12, atol: 1e-12 }, `iou ${i}`);
  }
});

test("alignment score divides the mean ρ by the human ceiling", () => {
  assertClose([alignmentScore([0.5, 0.7])], [0.6 / HUMAN_CEILING], { rtol: 1e-15 });
  assertEquals(Number.isNaN(alignmentScore([0.5, NaN])), true);
});
