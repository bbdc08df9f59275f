/**
 * GFLOP/s of square float32 matmul (2·n³ flops) for Harmonize and its WebGPU peers on the same
 * adapter, in one run, as a table with ratios. Each result is cross-checked against Harmonize's.
 *
 *   deno task bench:matmul [--sizes 256,1024,2048] [--peers tfjs,jax-js] [--matmul-variant registers|shared]
 *                          [--warmup 2] [--reps 10] [--budget 10]
 */
import { parseArgs } from "node:util";
import type { MatmulVariant } from "../../src/mod.ts";
import {
  COMMON_OPTIONS, comparisonTable, environmentReport, formatNumber, gflops, intOption, listOption, randomHost,
  relativeDifference, timeInterleaved, timingOptions,
} from "../lib.ts";
import { openPeers } from "../peers/mod.ts";

/** float32 results of different kernels differ by rounding only; more means a wrong result. */
const AGREEMENT = 1e-4;

const { values } = parseArgs({
  args: Deno.args,
  options: { ...COMMON_OPTIONS, sizes: { type: "string", default: "256,1024,2048" } },
});
const variant = values["matmul-variant"];
if (variant !== undefined && variant !== "registers" && variant !== "shared") {
  throw new Error(`--matmul-variant must be "registers" or "shared", got "${variant}"`);
}
const sizes = listOption(values.sizes).map((s) => intOption("sizes", s));
const timing = timingOptions(values);
const { ours, peers } = await openPeers(listOption(values.peers), { kernels: { matmul: variant as MatmulVariant | undefined } });
const everyone = [ours, ...peers];
console.log(environmentReport(everyone));

const rows = [];
for (const n of sizes) {
  const a = randomHost([n, n], 1);
  const b = randomHost([n, n], 2);
  const runners = everyone.filter((peer) => peer.matmul);
  const workloads = runners.map((peer) => peer.matmul!(a, b));
  const results: Record<string, number | undefined> = {};
  try {
    const timings = await timeInterleaved(workloads, timing);
    const reference = await workloads[0].read();
    for (const [i, peer] of runners.entries()) {
      const t = timings[i];
      const diff = relativeDifference(await workloads[i].read(), reference);
      results[peer.name] = gflops(2 * n ** 3, t.medianMs);
      console.error(
        `${n}³ ${peer.name}: median ${formatNumber(t.medianMs)} ms (min ${formatNumber(t.minMs)}) over ` +
          `${t.samplesMs.length} reps, ${formatNumber(results[peer.name])} GFLOP/s` +
          (i === 0 ? "" : `, max rel. diff vs ${runners[0].name} ${diff.toExponential(1)}`),
      );
      if (diff > AGREEMENT) {
        console.error(`  warning: ${peer.name} disagrees with ${runners[0].name} at ${n}³; its number is left out`);
        results[peer.name] = undefined;
      }
    }
  } finally {
    for (const workload of workloads) workload.dispose();
  }
  rows.push({ label: `${n}³`, values: results });
}

console.log(`\nsquare float32 matmul, GFLOP/s (median; ratios above 1 mean ${ours.name} is faster)\n`);
console.log(comparisonTable({
  label: "size",
  unit: "GFLOP/s",
  higherIsBetter: true,
  ours: ours.name,
  peers: peers.map((p) => p.name),
  rows,
}));
