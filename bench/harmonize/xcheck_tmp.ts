import { init, tensor, dispose, valueAndGradWithAux } from "../../src/mod.ts";
import { createModel } from "../../src/models/mod.ts";
import { harmonizedLoss as oursLoss } from "../../src/harmonize/train_step.ts";
import type { ParameterTree } from "../../src/nn/module.ts";
import { jaxjs } from "../peers/jaxjs.ts";
import { harmonizedLoss as jaxLoss, resnet18FromState } from "../peers/jaxjs_resnet.ts";
import { randomHost, relativeDifference } from "../lib.ts";
import { numpy as np, tree, valueAndGrad, type Array as JaxArray } from "@jax-js/jax";
await init(); await jaxjs.init();
const N = 4, S = 32, K = 10;
const model = createModel({ arch: "resnet", preset: "resnet18", classes: K });
model.train();
const state = await model.hostStateDict();
const xs = randomHost([N, 3, S, S], 1), hs = randomHost([N, S, S], 2);
const labels = [1, 2, 3, 4];
const onehot = new Float32Array(N * K); labels.forEach((l, i) => onehot[i * K + l] = 1);
const tok = new Float32Array([1, 1, 1, 0]);
const batch = { images: tensor(xs.data, xs.shape), heatmaps: tensor(hs.data, hs.shape), labels: tensor(new Int32Array(labels), [N], "int32"), tokens: tensor(tok, [N]) };
const [loss, out, grads] = valueAndGradWithAux((_: ParameterTree) => { const o = oursLoss(model, batch, { classes: K }); return [o.parts.total, o] as const; })(model.parameterTree());
console.log("ours total", await loss.item(), "ce", await out.parts.crossEntropy.item(), "harm", await out.parts.harmonization.item(), "l2", await out.parts.weightL2.item());
const up = (d: Float32Array, shape: number[]) => np.array(d as Float32Array<ArrayBuffer>, { shape, dtype: np.float32, device: "webgpu" });
const params = resnet18FromState(state);
const [jl, jg] = valueAndGrad(jaxLoss)(params, up(xs.data, xs.shape), up(onehot, [N, K]), up(hs.data, hs.shape), up(tok, [N]));
console.log("jax total", (await jl.data())[0]);
const pick = (g: any, name: string): JaxArray => {
  if (name === "conv1.weight") return g.conv1; if (name === "fc.weight") return g.fc.weight; if (name === "fc.bias") return g.fc.bias;
  if (name === "layer1.0.conv1.weight") return g.stages[0][0].conv1; if (name === "layer4.1.conv2.weight") return g.stages[3][1].conv2;
  if (name === "bn1.weight") return g.bn1.weight; if (name === "layer2.0.downsample.0.weight") return g.stages[1][0].downsample[0].conv;
  throw new Error(name);
};
for (const name of ["conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "layer4.1.conv2.weight", "fc.weight", "fc.bias"]) {
  const a = await grads[name].floats(); const b = await pick(jg, name).ref.data() as Float32Array;
  console.log(name, "rel diff jax vs ours", relativeDifference(b, a).toExponential(2));
}
