// Seeded fuzzing of every parser that reads what other people wrote, in both runtimes: each target
// runs a fixed number of mutated inputs (the same ones on every run) and must end each in a
// verified result or a named error. bench/fuzz runs the same targets for a chosen time.

import { assert, runtime, test } from "../harness.ts";
import { describeTally, fuzz, type FuzzTarget } from "./fuzz.ts";
import { FUZZ_TARGETS } from "./targets.ts";

/** Inputs per target in the suite: a few seconds each on a software adapter's CPU. */
const INPUTS: Record<string, number> = { tfrecord: 400, example: 800, jpeg: 400, safetensors: 600, "model-config": 1000, "cli-flags": 2000 };

async function run(target: FuzzTarget): Promise<void> {
  const tally = await fuzz(target, { seed: 12, inputs: INPUTS[target.name] });
  console.log(`fuzz (${runtime}) ${describeTally(tally)}`);
  assert(tally.failures.length === 0, tally.failures[0]);
  assert(tally.inputs === INPUTS[target.name], `${target.name}: ran ${tally.inputs} inputs`);
}

for (const target of FUZZ_TARGETS) {
  test(`fuzz/${target.name}: seeded hostile inputs end in a verified result or a named error`, () => run(target));
}
