// NaN in a gradient while every loss part stays finite (0·√0 differentiates to 0/0): the step
// stops naming the member and the parameter, and no weight, moment or counter moves.

import * as h from "../../src/mod.ts";
import { MemoryStorage, type Member, NonFiniteError, Run } from "../../src/run/mod.ts";
import type { Tensor } from "../../src/tensor.ts";
import { assert, assertEquals, assertRejects, test } from "../harness.ts";
import { tinyConfig, tinyData } from "./tiny_run.ts";

async function state(member: Member): Promise<string[]> {
  const out: string[] = [];
  for (const [name, t] of await member.model.hostStateDict()) {
    if (!name.includes("running_") && !name.includes("num_batches")) out.push(`${name}:${Array.from(t.data).join(",")}`);
  }
  for (const [name, t] of member.optimizer.state().tensors) out.push(`${name}:${Array.from(await t.data()).join(",")}`);
  return out;
}

test("faults: a NaN gradient under finite losses is caught before the weights are updated", async () => {
  await h.init();
  const run = await Run.start({ config: tinyConfig([{ name: "plain", mode: "plain" }]), data: await tinyData(), storage: new MemoryStorage() });
  try {
    await run.step();
    const [member] = run.members;
    const before = await state(member);
    const model = member.model as h.ResNet;
    const forward = model.forward.bind(model);
    // logits + 0·Σ√(w − w): the same logits, but d/dw is 0·(0.5/√0) = NaN for the fc weight.
    model.forward = (x: Tensor) => {
      const w = (model.fc as h.Linear).weight.value;
      return h.add(forward(x), h.mul(h.sum(h.sqrt(h.sub(w, w))), 0));
    };
    const error = await assertRejects(() => run.step(), /the plain model's gradient of fc\.weight \(squared norm\) became NaN at step 2; its weights were not updated/);
    assert(error instanceof NonFiniteError && error.member === "plain", "names the member");
    assertEquals(await state(member), before, "weights and optimizer moments unchanged");
    assertEquals(run.position.step, 1);
    model.forward = forward;
    assert(await run.step(), "the run goes on once the gradient is finite again");
    assertEquals(run.position.step, 2);
  } finally {
    await run.close();
    run.dispose();
  }
});
