import * as h from "../../src/mod.ts";
import { LayerNorm } from "../../src/nn/layer_norm.ts";
import { Linear } from "../../src/nn/linear.ts";
import { Sequential } from "../../src/nn/sequential.ts";
import { weightDecayGroups } from "../../src/nn/parameter_groups.ts";
import { Parameter } from "../../src/nn/parameter.ts";
import { engine } from "../../src/engine.ts";
import { shapeSize } from "../../src/tensor.ts";
import {
  AdamW, type AdamWOptions, type Optimizer, type ParameterGroup, Sgd, type SgdOptions,
} from "../../src/harmonize/optimizers.ts";
import { seededValues } from "../support/random.ts";
import { assertClose, assertEquals, test } from "../harness.ts";

test("optimizers: weight decay is chosen per parameter group (weightDecayGroups: decay, noDecay)", async () => {
  await h.init();
  for (const make of [(g: ConstructorParameters<typeof Sgd>[0]) => new Sgd(g), (g: ConstructorParameters<typeof AdamW>[0]) => new AdamW(g)]) {
    const model = new Sequential(new Linear(3, 2, { seed: 1 }), new LayerNorm(2));
    const { decay, noDecay } = weightDecayGroups(model);
    const before = new Map(await Promise.all(model.namedParameters().map(async ([n, p]) => [n, await p.value.floats()] as const)));
    const optimizer = make([{ parameters: decay, weightDecay: 0.5 }, { parameters: noDecay, weightDecay: 0 }]);
    // Zero gradients: only weight decay moves a parameter (AdamW's update is 0/(0 + ε) = 0).
    const grads = Object.fromEntries(model.namedParameters().map(([n, p]) => [n, h.zerosLike(p.value)]));
    optimizer.step(grads, 0.1);
    for (const [name, p] of model.namedParameters()) {
      const factor = decay.some(([n]) => n === name) ? 1 - 0.1 * 0.5 : 1;
      assertClose(await p.value.floats(), before.get(name)!.map((v) => v * factor), { rtol: 1e-6, atol: 1e-7 }, `${optimizer.constructor.name} ${name}`);
    }
    h.dispose(Object.values(grads));
    optimizer.dispose();
    model.dispose();
  }
});

/** torch.optim.SGD and torch.optim.AdamW written out in float64, one parameter at a time. */
function referenceSgd(o: Required<SgdOptions>, lr: number) {
  const buffers = new Map<string, Float64Array>();
  return (name: string, p: Float64Array, g: Float64Array, decay: number) => {
    const d = g.map((v, i) => v + decay * p[i]);
    let step = d;
    if (o.momentum) {
      const previous = buffers.get(name);
      const buffer = previous ? previous.map((b, i) => o.momentum * b + (1 - o.dampening) * d[i]) : d.slice();
      buffers.set(name, buffer);
      step = o.nesterov ? d.map((v, i) => v + o.momentum * buffer[i]) : buffer;
    }
    return p.map((v, i) => v - lr * step[i]);
  };
}

function referenceAdamW(o: Required<AdamWOptions>, lr: number) {
  const moments = new Map<string, { m: Float64Array; v: Float64Array; t: number }>();
  return (name: string, p: Float64Array, g: Float64Array, decay: number) => {
    const previous = moments.get(name) ?? { m: new Float64Array(p.length), v: new Float64Array(p.length), t: 0 };
    const t = previous.t + 1;
    const m = previous.m.map((x, i) => o.beta1 * x + (1 - o.beta1) * g[i]);
    const v = previous.v.map((x, i) => o.beta2 * x + (1 - o.beta2) * g[i] * g[i]);
    moments.set(name, { m, v, t });
    return p.map((x, i) =>
      x * (1 - lr * decay) - lr * (m[i] / (1 - o.beta1 ** t)) / (Math.sqrt(v[i] / (1 - o.beta2 ** t)) + o.epsilon)
    );
  };
}

const SHAPES: [string, number[]][] = [["weight", [5, 3]], ["bias", [7]], ["long", [1000]]];
const STEPS = 4;
const LR = 0.05;

/**
 * Runs STEPS updates of `make`'s optimizer under the given optimizer variant on parameters in two
 * groups (decay 0.1 for the first, the optimizer's own for the rest), seeded gradients each step.
 */
async function runOptimizer(
  variant: "fused" | "composed",
  make: (groups: ParameterGroup[]) => Optimizer,
): Promise<{ params: Map<string, Float32Array>; state: Map<string, Float32Array>; counters: Record<string, number> }> {
  const previous = engine.backend.kernels.variants.optimizer;
  engine.backend.setKernelVariant("optimizer", variant);
  try {
    const parameters = SHAPES.map(([name, shape], i): [string, Parameter] => [name, new Parameter(h.tensor(seededValues(shapeSize(shape), 10 + i), shape))]);
    const optimizer = make([{ parameters: parameters.slice(0, 1), weightDecay: 0.1 }, { parameters: parameters.slice(1) }]);
    for (let step = 0; step < STEPS; step++) {
      const grads = Object.fromEntries(parameters.map(([name, p], i) => [name, h.tensor(seededValues(p.value.size, 100 * step + i), p.shape)]));
      optimizer.step(grads, LR);
      h.dispose(Object.values(grads));
    }
    const params = new Map(await Promise.all(parameters.map(async ([name, p]) => [name, await p.value.floats()] as const)));
    const { tensors, counters } = optimizer.state();
    const state = new Map(await Promise.all([...tensors].map(async ([key, t]) => [key, await t.floats()] as const)));
    optimizer.dispose();
    for (const [, p] of parameters) p.dispose();
    return { params, state, counters };
  } finally {
    engine.backend.setKernelVariant("optimizer", previous);
  }
}

/** The reference's parameters after the same STEPS updates. */
function referenceParams(update: (name: string, p: Float64Array, g: Float64Array, decay: number) => Float64Array, decay: number) {
  return new Map(SHAPES.map(([name, shape], i) => {
    let p: Float64Array = Float64Array.from(seededValues(shapeSize(shape), 10 + i));
    for (let step = 0; step < STEPS; step++) p = update(name, p, Float64Array.from(seededValues(p.length, 100 * step + i)), i === 0 ? 0.1 : decay);
    return [name, p] as const;
  }));
}

const SGD_CASES: SgdOptions[] = [
  {},
  { weightDecay: 0.02 },
  { momentum: 0.9 },
  { momentum: 0.9, nesterov: true },
  { momentum: 0.8, dampening: 0.3, weightDecay: 0.05 },
  { momentum: 0.9, nesterov: true, weightDecay: 0.01 },
];
const ADAMW_CASES: AdamWOptions[] = [{}, { beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1 }, { weightDecay: 0 }];

const cases: [string, (groups: ParameterGroup[]) => Optimizer, ReturnType<typeof referenceParams>][] = [
  ...SGD_CASES.map((o): [string, (groups: ParameterGroup[]) => Optimizer, ReturnType<typeof referenceParams>] => {
    const full = { momentum: 0, nesterov: false, weightDecay: 0, dampening: 0, ...o };
    return [`Sgd ${JSON.stringify(o)}`, (groups) => new Sgd(groups, o), referenceParams(referenceSgd(full, LR), full.weightDecay)];
  }),
  ...ADAMW_CASES.map((o): [string, (groups: ParameterGroup[]) => Optimizer, ReturnType<typeof referenceParams>] => {
    const full = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, ...o };
    return [`AdamW ${JSON.stringify(o)}`, (groups) => new AdamW(groups, o), referenceParams(referenceAdamW(full, LR), full.weightDecay)];
  }),
];

for (const [name, make, expected] of cases) {
  test(`optimizers: ${name}: the fused kernel equals the composed rule over ${STEPS} steps, and both torch's rule in float64`, async () => {
    await h.init();
    const fusedRun = await runOptimizer("fused", make);
    const composedRun = await runOptimizer("composed", make);
    assertEquals([...fusedRun.state.keys()], [...composedRun.state.keys()], "state layout");
    assertEquals(fusedRun.counters, composedRun.counters, "counters");
    for (const [key, values] of composedRun.state) assertClose(fusedRun.state.get(key)!, values, { rtol: 1e-6, atol: 1e-7 }, `${name} state ${key}`);
    for (const [param, values] of composedRun.params) {
      assertClose(fusedRun.params.get(param)!, values, { rtol: 1e-6, atol: 1e-7 }, `${name} fused vs composed ${param}`);
      assertClose(values, expected.get(param)!, { rtol: 1e-5, atol: 1e-6 }, `${name} composed vs float64 ${param}`);
    }
  });
}
