import * as h from "../../src/mod.ts";
import { LayerNorm } from "../../src/nn/layer_norm.ts";
import { Linear } from "../../src/nn/linear.ts";
import { Sequential } from "../../src/nn/sequential.ts";
import { weightDecayGroups } from "../../src/nn/parameter_groups.ts";
import { AdamW, Sgd } from "../../src/harmonize/optimizers.ts";
import { assertClose, test } from "../harness.ts";

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
