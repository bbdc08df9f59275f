// The fuzz targets of the suite (test/fuzz), run for a chosen time instead of a fixed count: each
// target gets an equal share of --seconds, from a seed the suite does not use. Prints inputs tried
// and named errors by kind per target; exits 1 if any input made a parser misbehave, after
// printing how to replay it.
// Run: deno task bench:fuzz --seconds 600 [--seed 1000] [--target tfrecord,jpeg]

import { parseArgs } from "node:util";
import { describeTally, fuzz, type FuzzTally } from "../../test/fuzz/fuzz.ts";
import { FUZZ_TARGETS } from "../../test/fuzz/targets.ts";
import { formatTable, intOption, listOption } from "../lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { seconds: { type: "string", default: "60" }, seed: { type: "string", default: "1000" }, target: { type: "string" } },
});
const seconds = intOption("seconds", values.seconds);
const seed = intOption("seed", values.seed);
const wanted = listOption(values.target);
const unknown = wanted.filter((name) => !FUZZ_TARGETS.some((t) => t.name === name));
if (unknown.length > 0) throw new Error(`--target: unknown ${unknown.join(", ")} (known: ${FUZZ_TARGETS.map((t) => t.name).join(", ")})`);
const targets = wanted.length > 0 ? FUZZ_TARGETS.filter((t) => wanted.includes(t.name)) : FUZZ_TARGETS;

const load = Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, Deno ${Deno.version.deno}, load average ${load}`);
console.log(`fuzzing ${targets.length} targets for ${seconds} s in all (${(seconds / targets.length).toFixed(0)} s each), seed ${seed}`);

const tallies: FuzzTally[] = [];
for (const target of targets) {
  const tally = await fuzz(target, { seed, millis: (1000 * seconds) / targets.length, maxFailures: 5 });
  console.log(describeTally(tally));
  tallies.push(tally);
}

console.log();
console.log(formatTable(
  ["target", "inputs", "verified results", "named errors", "error kinds", "failures"],
  tallies.map((t) => [t.target, String(t.inputs), String(t.ok), String(t.rejected), String(t.kinds.size), String(t.failures.length)]),
));
const failures = tallies.flatMap((t) => t.failures);
if (failures.length > 0) {
  console.log(`\n${failures.length} failures; each replays alone from its seed and input number (test/fuzz/fuzz.ts):`);
  for (const failure of failures) console.log(`  ${failure}`);
  Deno.exit(1);
}
