/**
 * Everything a researcher needs to check a port against PyTorch for one batch: logits, saliency,
 * each loss part, and the gradients of the total loss and of the harmonization term alone w.r.t.
 * every parameter, named as PyTorch names them (`grad.<param>`, `grad_harm.<param>`).
 */
import { dispose, tidy } from "../engine.ts";
import type { Tensor } from "../tensor.ts";
import type { Module, ParameterTree } from "../nn/module.ts";
import type { HostTensor } from "../io/safetensors.ts";
import { valueAndGradWithAux } from "../autograd/grad.ts";
import { tensor } from "../ops/creation.ts";
import { standardizeCut } from "./standardize.ts";
import { harmonizedLoss, type LossOptions } from "./train_step.ts";
import type { Batch } from "../data/batch.ts";

/** Checks and uploads a parity batch: x [N,3,H,W], heatmaps [N,H,W], labels [N], tokens [N]. */
export function uploadBatch(host: Map<string, HostTensor>, source = "batch"): Batch {
  const get = (name: string): HostTensor => {
    const t = host.get(name);
    if (!t) throw new Error(`${source}: missing tensor "${name}" (needs x, heatmaps, labels, tokens)`);
    return t;
  };
  const x = get("x");
  const heatmaps = get("heatmaps");
  const labels = get("labels");
  const tokens = get("tokens");
  const [n, , hgt, wid] = x.shape;
  if (x.shape.length !== 4) throw new Error(`${source}: "x" must be [N, C, H, W], got [${x.shape}]`);
  if (heatmaps.shape.join() !== [n, hgt, wid].join()) {
    throw new Error(`${source}: "heatmaps" must be [${n}, ${hgt}, ${wid}], got [${heatmaps.shape}]`);
  }
  if (labels.shape.join() !== `${n}` || tokens.shape.join() !== `${n}`) {
    throw new Error(`${source}: "labels" and "tokens" must be [${n}], got [${labels.shape}] and [${tokens.shape}]`);
  }
  return {
    images: tensor(x.data, x.shape),
    heatmaps: tensor(heatmaps.data, heatmaps.shape),
    labels: tensor(Int32Array.from(labels.data), [n], "int32"),
    tokens: tensor(Float32Array.from(tokens.data), [n]),
  };
}

async function toHost(t: Tensor): Promise<HostTensor> {
  return { shape: [...t.shape], data: await t.data() };
}

/** Runs the parity computation with the model in training mode. */
export async function parity(model: Module, batch: Batch, options: LossOptions): Promise<Map<string, HostTensor>> {
  model.train();
  const [total, outputs, grads] = valueAndGradWithAux((_: ParameterTree) => {
    const out = harmonizedLoss(model, batch, options);
    return [out.parts.total, out] as const;
  })(model.parameterTree());
  const [harmonization, harmOutputs, harmGrads] = valueAndGradWithAux((_: ParameterTree) => {
    const out = harmonizedLoss(model, batch, options);
    return [out.parts.harmonization, out] as const;
  })(model.parameterTree());
  dispose([harmonization, harmOutputs]);
  const sa = tidy(() => standardizeCut(outputs.saliency));
  const result = new Map<string, HostTensor>([
    ["loss_total", await toHost(total)],
    ["loss_cce", await toHost(outputs.parts.crossEntropy)],
    ["loss_harmonization", await toHost(outputs.parts.harmonization)],
    ["loss_weight_l2", await toHost(outputs.parts.weightL2)],
    ["logits", await toHost(outputs.logits)],
    ["saliency", await toHost(outputs.saliency)],
    ["sa", await toHost(sa)],
  ]);
  for (const [name] of model.namedParameters()) {
    result.set(`grad.${name}`, await toHost(grads[name]));
    result.set(`grad_harm.${name}`, await toHost(harmGrads[name]));
  }
  dispose([total, sa, grads, harmGrads, outputs]);
  return result;
}
