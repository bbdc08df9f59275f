/** inspectModel: one evaluation pass that also yields the confusion matrix, gallery and pyramid, leaving training state alone. */
import { dispose, init, tidy } from "../../src/engine.ts";
import { createModel, type ModelConfig } from "../../src/models/mod.ts";
import { randomNormal, randomUniform, tensor } from "../../src/ops/creation.ts";
import { oneHot } from "../../src/ops/indexing.ts";
import { type Batch, evaluate, harmonizationTerm, inputGradient, trainingSaliency } from "../../src/harmonize/mod.ts";
import { inspectModel } from "../../src/harmonize/inspect.ts";
import { assert, assertEquals, assertRejects, test } from "../harness.ts";
import { decodePngDataUrl } from "./png_reader.ts";

const CONFIG: ModelConfig = { arch: "resnet", block: "basic", layers: [1, 1], widths: [4, 8], classes: 3, stemKernel: 3, stemStride: 1, stemPool: true, seed: 3 };
const SIZE = 16;

function batches(labels: number[][], tokens: number[][]): Batch[] {
  return labels.map((l, k) => ({
    images: randomNormal([l.length, 3, SIZE, SIZE], { seed: 10 + k }),
    heatmaps: randomUniform([l.length, SIZE, SIZE], { seed: 20 + k }),
    labels: tensor(Int32Array.from(l), [l.length], "int32"),
    tokens: tensor(Float32Array.from(tokens[k]), [l.length]),
  }));
}

async function hostState(model: ReturnType<typeof createModel>): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [name, t] of await model.hostStateDict()) out.set(name, [...t.data]);
  return out;
}

test("inspect: evaluates, counts a confusion matrix and leaves BatchNorm statistics and the mode alone", async () => {
  await init();
  const model = createModel(CONFIG);
  const data = batches([[0, 1, 2, 1], [2, 0, 0, 1]], [[0, 1, 1, 1], [1, 1, 0, 1]]);
  try {
    const before = await hostState(model);
    const inspection = await inspectModel(model, data, { classes: 3, gallery: 5, classNames: ["a", "b", "c", "d"] });
    assert(model.training, "the model is back in training mode");
    const after = await hostState(model);
    for (const [name, values] of before) assertEquals(after.get(name), values, `${name} unchanged`);
    const reference = await evaluate(model, data, 3);
    assertEquals(inspection.evaluation, reference, "the evaluation is evaluate()'s");
    assertEquals(inspection.classNames, ["a", "b", "c"]);
    const counts = inspection.confusion.flat();
    assertEquals(counts.reduce((a, b) => a + b, 0), 8, "every image counted once");
    assertEquals(inspection.confusion.map((row) => row.reduce((a, b) => a + b, 0)), [3, 3, 2], "rows are the true labels");
    const diagonal = inspection.confusion.reduce((n, row, i) => n + row[i], 0);
    assertEquals(diagonal / 8, reference.accuracy, "the diagonal is the accuracy");
  } finally {
    dispose(data);
    model.dispose();
  }
});

test("inspect: gallery images and the five pyramid levels the loss compares", async () => {
  await init();
  const model = createModel(CONFIG);
  const data = batches([[0, 1, 2], [2, 0, 1]], [[0, 1, 1], [1, 1, 1]]);
  try {
    const inspection = await inspectModel(model, data, { classes: 3, gallery: 4 });
    assertEquals(inspection.gallery.map((e) => [e.label, e.mapped]), [[0, false], [1, true], [2, true], [2, true]]);
    for (const entry of inspection.gallery) {
      for (const url of [entry.image, entry.human, entry.saliency]) {
        const png = await decodePngDataUrl(url);
        assertEquals([png.width, png.height, png.channels], [SIZE, SIZE, 3]);
      }
    }
    const pyramid = inspection.pyramid!;
    assertEquals([pyramid.index, pyramid.label], [1, 1], "the first image with a human map");
    assertEquals(pyramid.levels.map((l) => [l.width, l.height]), [[16, 16], [8, 8], [4, 4], [2, 2], [1, 1]]);
    for (const level of pyramid.levels) {
      assertEquals([(await decodePngDataUrl(level.saliency)).width, (await decodePngDataUrl(level.human)).height], [level.width, level.height]);
    }
    // The loss on that one image (eval mode) is the mean of the level terms.
    const images = await data[0].images.data();
    const heatmaps = await data[0].heatmaps.data();
    const plane = SIZE * SIZE;
    model.eval();
    const loss = tidy(() => {
      const x = tensor(images.slice(3 * plane, 6 * plane), [1, 3, SIZE, SIZE]);
      const { gradient } = inputGradient((v) => model.forward(v), x, oneHot(tensor(Int32Array.of(1), [1], "int32"), 3));
      return harmonizationTerm(trainingSaliency(gradient), tensor(heatmaps.slice(plane, 2 * plane), [1, SIZE, SIZE]), tensor(Float32Array.of(1), [1]));
    });
    model.train();
    const fromLevels = pyramid.levels.reduce((a, l) => a + l.mse, 0) / pyramid.levels.length;
    const value = await loss.item();
    loss.dispose();
    assert(Math.abs(fromLevels - value) <= 1e-5 * Math.max(1, Math.abs(value)), `levels give ${fromLevels}, the loss ${value}`);
  } finally {
    dispose(data);
    model.dispose();
  }
});

test("inspect: a label outside the classes is named", async () => {
  await init();
  const model = createModel(CONFIG);
  const data = batches([[0, 5]], [[1, 1]]);
  try {
    // oneHot of an out-of-range label is all zeros, so evaluation itself does not notice.
    await assertRejects(() => inspectModel(model, data, { classes: 3 }), /validation image 1 has label 5, outside 0\.\.2/);
  } finally {
    dispose(data);
    model.dispose();
  }
});
