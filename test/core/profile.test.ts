/**
 * The profiler's report has the right shape for a harmonized step of a tiny ResNet: rows per
 * primitive and kernel, every phase of the step, bytes counted, and a printable table. Never its
 * numbers (times depend on the machine).
 */
import * as h from "../../src/mod.ts";
import { createModel } from "../../src/models/mod.ts";
import { Sgd } from "../../src/harmonize/optimizers.ts";
import { trainStep } from "../../src/harmonize/train_step.ts";
import { formatProfile, markPhase, profile, startProfile } from "../../src/profile.ts";
import { assert, assertEquals, assertThrows, test } from "../harness.ts";

const CLASSES = 3;

function tinyBatch(): { images: h.Tensor; heatmaps: h.Tensor; labels: h.Tensor; tokens: h.Tensor } {
  const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233));
  return {
    images: h.tensor(values(4 * 3 * 8 * 8, 1), [4, 3, 8, 8]),
    heatmaps: h.tensor(values(4 * 8 * 8, 2).map(Math.abs), [4, 8, 8]),
    labels: h.tensor(Int32Array.from([0, 1, 2, 1]), [4], "int32"),
    tokens: h.tensor([1, 1, 0, 1], [4]),
  };
}

test("profile of a harmonized step reports primitives, kernels and every phase with bytes", async () => {
  await h.init();
  const model = createModel({ arch: "resnet", block: "basic", layers: [1], widths: [4], classes: CLASSES, stemKernel: 3, stemStride: 1, stemPool: false });
  const optimizer = new Sgd(model.namedParameters());
  const batch = tinyBatch();
  const { report } = await profile(async () => {
    const result = trainStep(model, optimizer, batch, { mode: "harmonized", lr: 0.01, classes: CLASSES });
    await result.parts.total.item();
    h.dispose(result);
  });
  assertEquals(report.phases.map((p) => p.name), ["forward", "saliency", "double backward", "optimizer"], "phases");
  for (const phase of report.phases) {
    assert(phase.peakBytes > 0 && phase.peakBytes >= phase.startLiveBytes && phase.peakBytes >= phase.endLiveBytes, `${phase.name}: peak ${phase.peakBytes}`);
  }
  const names = report.primitives.map((p) => p.name);
  for (const name of ["conv2d", "conv2dInputGrad", "conv2dWeightGrad", "matmul"]) assert(names.includes(name), `no ${name} row in ${names}`);
  for (const row of report.primitives.filter((p) => p.calls > 0)) assert(row.outputBytes > 0, `${row.name}: no output bytes`);
  assert(report.kernels.length > 0 && report.kernels.every((k) => k.dispatches > 0 && k.boundBytes > 0), "kernel rows");
  assert(report.dispatches === report.kernels.reduce((n, k) => n + k.dispatches, 0), "dispatches add up");
  const timed = report.timing === "gpu-timestamps";
  assert(report.kernels.every((k) => (k.gpuMs !== undefined) === timed), "GPU times present exactly when timestamps are");
  const table = formatProfile(report, { top: 5 });
  for (const header of ["primitive", "calls", "GPU ms", "CPU ms", "output MiB", "kernel", "bound MiB", "phase", "peak MiB"]) {
    assert(table.includes(header), `table has no "${header}" column`);
  }
  assert(table.includes("more)"), "rows past --top are summed in one row");
  h.dispose(batch);
  optimizer.dispose();
  model.dispose();
});

test("one profile at a time; markPhase outside a profile does nothing", async () => {
  await h.init();
  markPhase("ignored");
  const open = startProfile();
  assertThrows(() => startProfile(), /a profile is already open/);
  const report = await open.stop();
  assertEquals(report.phases.length, 0, "no dispatches, no phases");
});
