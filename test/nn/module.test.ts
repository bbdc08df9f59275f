// The Module system: PyTorch names and order, state dicts (errors name the key), modes, parameter
// holders, and gradients that reach every parameter through the parameterTree() idiom.
import {
  dispose, flatten, grad, init, mean, memory, mul, randomNormal, sum, type Tensor, tensor, tidy,
} from "../../src/mod.ts";
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.ts";
import { Module, type ParameterTree } from "../../src/nn/module.ts";
import { Parameter } from "../../src/nn/parameter.ts";
import { weightDecayGroups } from "../../src/nn/parameter_groups.ts";
import { Conv2d } from "../../src/nn/conv2d.ts";
import { BatchNorm2d } from "../../src/nn/batch_norm2d.ts";
import { Linear } from "../../src/nn/linear.ts";
import { LayerNorm } from "../../src/nn/layer_norm.ts";
import { GELU, ReLU } from "../../src/nn/activation.ts";
import { Dropout } from "../../src/nn/dropout.ts";
import { AdaptiveAvgPool2d, MaxPool2d } from "../../src/nn/pooling.ts";
import { Identity } from "../../src/nn/identity.ts";
import { Sequential } from "../../src/nn/sequential.ts";
import { assert, assertClose, assertEquals, assertThrows, test } from "../harness.ts";

await init();

/** Conv → BN → ReLU → MaxPool → pool → flatten → LayerNorm → Linear → GELU → Dropout → Linear. */
class Net extends Module {
  readonly features: Sequential;
  readonly norm: LayerNorm;
  readonly head: Sequential;

  constructor(seed: number) {
    super();
    this.features = this.registerModule(
      "features",
      new Sequential(new Conv2d(2, 4, 3, { padding: 1, seed }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new AdaptiveAvgPool2d(1)),
    );
    this.norm = this.registerModule("norm", new LayerNorm(4));
    this.head = this.registerModule(
      "head",
      new Sequential(new Linear(4, 6, { seed: seed + 1 }), new GELU(), new Dropout(0.5, seed), new Identity(), new Linear(6, 3, { seed: seed + 2 })),
    );
  }

  forward(x: Tensor): Tensor {
    return this.head.forward(this.norm.forward(flatten(this.features.forward(x), 1)));
  }
}

const NET_STATE = [
  "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias", "features.1.running_mean",
  "features.1.running_var", "features.1.num_batches_tracked", "norm.weight", "norm.bias",
  "head.0.weight", "head.0.bias", "head.4.weight", "head.4.bias",
];

test("Module names parameters and buffers with PyTorch's dotted names, in state-dict order", () => {
  const net = new Net(1);
  assertEquals([...net.stateDict().keys()], NET_STATE);
  assertEquals(net.namedParameters().map(([n]) => n), NET_STATE.filter((n) => !/running|num_batches/.test(n)));
  assertEquals(net.namedBuffers().map(([n]) => n), ["features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked"]);
  assertEquals(net.stateDict().get("features.1.num_batches_tracked")!.dtype, "int32");
  net.dispose();
});

test("train() and eval() reach every descendant", () => {
  const net = new Net(1);
  assert(net.features.layers[1].training && net.head.layers[2].training);
  net.eval();
  assert(!net.training && !net.features.layers[1].training && !net.head.layers[2].training);
  net.train();
  assert(net.head.layers[2].training);
  net.dispose();
});

test("loadStateDict: missing, unexpected and misshapen keys are errors naming them; a failed load changes nothing", async () => {
  const net = new Net(1);
  const state = await net.hostStateDict();
  const missing = new Map(state);
  missing.delete("norm.bias");
  assertThrows(() => net.loadStateDict(missing), /Net\.loadStateDict: missing keys: norm\.bias/);
  const extra = new Map(state);
  extra.set("head.9.weight", { shape: [1], data: Float32Array.of(1) });
  assertThrows(() => net.loadStateDict(extra), /unexpected keys: head\.9\.weight/);
  const report = net.loadStateDict(extra, { strict: false });
  assertEquals(report, { missingKeys: [], unexpectedKeys: ["head.9.weight"] });
  const before = await net.head.layers[0].namedParameters()[0][1].value.data();
  const wrong = new Map(state);
  wrong.set("head.0.weight", { shape: [1, 2, 3, 4], data: new Float32Array(24).fill(7) });
  wrong.set("head.4.weight", { shape: [4, 6], data: new Float32Array(24) });
  assertThrows(() => net.loadStateDict(wrong), /"head\.0\.weight" has shape \[1,2,3,4\] in the state dict, but the model expects \[6,4\]/);
  assertEquals([...await net.head.layers[0].namedParameters()[0][1].value.data()], [...before]);
  net.dispose();
});

test("a state dict survives safetensors and reproduces the outputs of another model", async () => {
  const a = new Net(1).eval();
  const b = new Net(9).eval();
  const x = randomNormal([2, 2, 4, 4], { seed: 2 });
  const bytes = encodeSafetensors(await a.hostStateDict());
  b.loadStateDict(decodeSafetensors(bytes).tensors);
  const [ya, yb] = tidy(() => [a.forward(x), b.forward(x)]);
  assertClose(await yb.data(), await ya.data(), { rtol: 0, atol: 0 });
  // GPU tensors load too (shared, not copied): disposing the source keeps the model's value.
  const c = new Net(5).eval();
  const source = a.stateDict();
  c.loadStateDict(source);
  a.dispose();
  const yc = tidy(() => c.forward(x));
  assertClose(await yc.data(), await ya.data(), { rtol: 0, atol: 0 });
  dispose([x, ya, yb, yc]);
  b.dispose();
  c.dispose();
});

test("gradients of a loss of forward reach every parameter through parameterTree()", async () => {
  const net = new Net(3);
  const x = randomNormal([3, 2, 4, 4], { seed: 4 });
  const grads = grad((_: ParameterTree) => mean(net.forward(x)))(net.parameterTree());
  assertEquals(Object.keys(grads), net.namedParameters().map(([n]) => n));
  for (const [name, g] of Object.entries(grads)) {
    const values = await g.data();
    assert(values.some((v) => v !== 0), `∂loss/∂${name} is all zero`);
  }
  dispose([grads, x]);
  net.dispose();
});

test("Parameter.assign replaces and frees the old value, checks the shape, survives tidy", async () => {
  const before = memory().liveBuffers;
  const p = new Parameter(tensor([1, 2, 3]));
  const first = p.value;
  tidy(() => p.assign(tensor([4, 5, 6])));
  assert(first.isDisposed && !p.value.isDisposed, "the old value is freed, the new one outlives its tidy");
  assertEquals(memory().liveBuffers - before, 1);
  assertEquals([...await p.value.data()], [4, 5, 6]);
  tidy(() => assertThrows(() => p.assign(tensor([1, 2])), /Parameter\.assign: expected Tensor\(float32, \[3\]\), got Tensor\(float32, \[2\]\)/));
  p.dispose();
  assertEquals(memory().liveBuffers, before);
});

test("BatchNorm2d: momentum-0.1 running statistics with unbiased variance, counter, eval uses them", async () => {
  const bn = new BatchNorm2d(2);
  const values = [1, 2, 3, 5, -1, 0, 4, 4, 2, 2, 6, 0, 1, 1, 1, 9];
  const x = tensor(values, [2, 2, 2, 2]);
  tidy(() => bn.forward(x));
  const channel = (c: number) => values.filter((_, i) => Math.floor(i / 4) % 2 === c);
  const m = [0, 1].map((c) => channel(c).reduce((a, b) => a + b) / 8);
  const v = [0, 1].map((c) => channel(c).reduce((a, b) => a + (b - m[c]) ** 2, 0) / 7);
  assertClose(await bn.runningMean.value.data(), m.map((mu) => 0.1 * mu), { rtol: 1e-6 });
  assertClose(await bn.runningVar.value.data(), v.map((s) => 0.9 + 0.1 * s), { rtol: 1e-6 });
  assertEquals([...await bn.numBatchesTracked.value.data()], [1]);
  bn.eval();
  const y = tidy(() => bn.forward(x));
  const rm = await bn.runningMean.value.data();
  const rv = await bn.runningVar.value.data();
  assertClose(await y.data(), values.map((val, i) => {
    const c = Math.floor(i / 4) % 2;
    return (val - rm[c]) / Math.sqrt(rv[c] + 1e-5);
  }), { rtol: 1e-5, atol: 1e-6 });
  assertEquals([...await bn.numBatchesTracked.value.data()], [1], "eval does not count");
  assertThrows(() => bn.forward(tensor(values, [2, 8])), /BatchNorm2d\(2\): input must be \[N, 2, H, W\], got \[2,8\]/);
  dispose([x, y]);
  bn.dispose();
});

test("initialisers follow PyTorch's defaults and are reproducible by seed", async () => {
  const a = new Linear(50, 40, { seed: 7 });
  const b = new Linear(50, 40, { seed: 7 });
  const c = new Linear(50, 40, { seed: 8 });
  const wa = await a.weight.value.data();
  assertEquals([...await b.weight.value.data()], [...wa]);
  assert((await c.weight.value.data()).some((v, i) => v !== wa[i]), "another seed, other weights");
  const bound = 1 / Math.sqrt(50);
  assert(wa.every((v) => Math.abs(v) <= bound) && Math.max(...wa.map(Math.abs)) > 0.9 * bound, "weights span U(±1/√in)");
  const bias = await a.bias!.value.data();
  assert(bias.every((v) => Math.abs(v) <= bound), "bias within U(±1/√in)");
  const conv = new Conv2d(6, 4, [3, 5], { groups: 2, seed: 1 });
  assertEquals(conv.weight.shape, [4, 3, 3, 5]);
  const convBound = 1 / Math.sqrt(3 * 3 * 5);
  assert((await conv.weight.value.data()).every((v) => Math.abs(v) <= convBound), "conv weights within U(±1/√fan_in)");
  assertThrows(() => new Conv2d(6, 4, 3, { groups: 4 }), /groups 4 must divide both 6 input and 4 output channels/);
  const ln = new LayerNorm(3);
  assertEquals([...await ln.weight.value.data(), ...await ln.bias.value.data()], [1, 1, 1, 0, 0, 0]);
  assertEquals(weightDecayGroups(ln).noDecay.map(([name]) => name), ["weight", "bias"]);
  assertEquals(weightDecayGroups(a).decay.map(([name]) => name), ["weight", "bias"]);
  for (const m of [a, b, c, conv, ln]) m.dispose();
});

test("Dropout drops in training mode with a fresh mask per call and is the identity in eval", async () => {
  const drop = new Dropout(0.5, 11);
  const x = tensor(new Float32Array(256).fill(1));
  const [y1, y2] = tidy(() => [drop.forward(x), drop.forward(x)]);
  const [d1, d2] = [await y1.data(), await y2.data()];
  assert(d1.every((v) => v === 0 || v === 2), "kept values are scaled by 1/(1 − rate)");
  assert(d1.some((v, i) => v !== d2[i]), "two calls draw two masks");
  const zeros = d1.filter((v) => v === 0).length;
  assert(zeros > 90 && zeros < 166, `about half dropped, got ${zeros}/256`);
  drop.eval();
  assertEquals(drop.forward(x), x);
  dispose([x, y1, y2]);
});

test("BatchNorm2d's running-stat update is invisible to autodiff, to second order", async () => {
  const bn = new BatchNorm2d(2);
  const x = randomNormal([3, 2, 2, 2], { seed: 6 });
  // Σ y³ makes the input gradient depend on γ and β, so the second order is not trivially zero.
  const inputGrad = (input: Tensor) => grad((v: Tensor) => sum(mul(mul(bn.forward(v), bn.forward(v)), bn.forward(v))))(input);
  const g = grad((_: ParameterTree) => sum(mul(inputGrad(x), x)))(bn.parameterTree());
  assertEquals(Object.keys(g), ["weight", "bias"]);
  assert((await g.weight.data()).every(Number.isFinite) && (await g.bias.data()).some((v) => v !== 0), "second-order gradient");
  assertEquals([...await bn.numBatchesTracked.value.data()], [3], "one update per training forward");
  dispose([g, x]);
  bn.dispose();
});
