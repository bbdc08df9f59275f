/**
 * Checks that the jax-js peer computes what Harmonize computes: from the same ResNet-18 weights
 * and batch, the harmonized loss (docs/harmonization.md §1) and its gradient w.r.t. every parameter, and the plain
 * loss and its gradient. Prints the worst relative difference (‖a − b‖∞ / ‖b‖∞) per case; exits 1
 * above the tolerance. Small shapes, so it runs in a minute or two on lavapipe.
 *
 *   node_modules/.bin/deno run -A bench/harmonize/crosscheck.ts [--batch 4] [--size 32] [--classes 10]
 */
import { parseArgs } from "node:util";
import { numpy as np, tree, valueAndGrad, type Array as JaxArray } from "@jax-js/jax";
import { init, tensor, valueAndGradWithAux } from "../../src/mod.ts";
import { createModel } from "../../src/models/mod.ts";
import { harmonizedLoss, plainLoss } from "../../src/harmonize/train_step.ts";
import type { ParameterTree } from "../../src/nn/module.ts";
import { intOption, randomHost, relativeDifference } from "../lib.ts";
import { jaxjs } from "../peers/jaxjs.ts";
import * as peer from "../peers/jaxjs_resnet.ts";

/**
 * float32 second-order gradients of two implementations differ by rounding (≤ 1e-3 measured); a
 * real mistake shows far above (a wrong pyramid gradient: 0.2, a truncated L2 sum: 1e-2 in the loss).
 */
const TOLERANCE = 5e-3;

const { values } = parseArgs({
  args: Deno.args,
  options: { batch: { type: "string", default: "4" }, size: { type: "string", default: "32" }, classes: { type: "string", default: "10" } },
});
const [n, size, classes] = [intOption("batch", values.batch), intOption("size", values.size), intOption("classes", values.classes)];
await init();
await jaxjs.init();

const model = createModel({ arch: "resnet", preset: "resnet18", classes }).train();
const state = await model.hostStateDict();
const images = randomHost([n, 3, size, size], 1);
const heatmaps = randomHost([n, size, size], 2);
const labels = Array.from({ length: n }, (_, i) => (i + 1) % classes);
const onehot = new Float32Array(n * classes);
labels.forEach((label, i) => (onehot[i * classes + label] = 1));
const tokens = new Float32Array(labels.map((_, i) => (i % 4 === 3 ? 0 : 1)));
const batch = {
  images: tensor(images.data, images.shape),
  heatmaps: tensor(heatmaps.data, heatmaps.shape),
  labels: tensor(new Int32Array(labels), [n], "int32"),
  tokens: tensor(tokens, [n]),
};
const upload = (data: Float32Array<ArrayBuffer>, shape: number[]) => np.array(data, { shape, dtype: np.float32, device: "webgpu" });

let worst = 0;
for (const [mode, ours, theirs] of [["harmonized", harmonizedLoss, peer.harmonizedLoss], ["plain", plainLoss, peer.plainLoss]] as const) {
  const [loss, , grads] = valueAndGradWithAux((_: ParameterTree) => {
    const out = ours(model, batch, { classes });
    return [out.parts.total, out] as const;
  })(model.parameterTree());
  const [jaxLoss, jaxGrads] = valueAndGrad(theirs)(
    peer.resnet18FromState(state),
    upload(images.data, images.shape),
    upload(onehot, [n, classes]),
    upload(heatmaps.data, heatmaps.shape),
    upload(tokens, [n]),
  );
  const lossDiff = relativeDifference([(await jaxLoss.data())[0]], [await loss.item()]);
  let gradDiff = 0;
  let where = "";
  for (const [name, g] of peer.resnet18Named(jaxGrads)) {
    const diff = relativeDifference(await g.ref.data() as Float32Array, await grads[name].floats());
    if (diff > gradDiff) [gradDiff, where] = [diff, name];
  }
  tree.dispose(jaxGrads);
  console.log(`${mode}: loss rel. diff ${lossDiff.toExponential(1)}, worst gradient rel. diff ${gradDiff.toExponential(1)} (${where}), over ${Object.keys(grads).length} parameters`);
  worst = Math.max(worst, lossDiff, gradDiff);
}
if (worst > TOLERANCE) {
  console.log(`FAILED: a difference above ${TOLERANCE}`);
  Deno.exit(1);
}
console.log(`ok: jax-js and Harmonize agree within ${TOLERANCE}`);
