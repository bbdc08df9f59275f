/** Loading the PyTorch golden fixtures of test/golden/models_golden.py and comparing against them. */
import { decodeSafetensors, type HostTensor, type SafetensorsContents } from "../../src/io/safetensors.ts";
import { type Tensor, tensor } from "../../src/mod.ts";
import { AssertionError, maxRelativeError, readRepoFile } from "../harness.ts";

export interface Golden {
  /** Tensors under one prefix ("state", "grad", …) with the prefix removed. */
  group(prefix: string): Map<string, HostTensor>;
  host(name: string): HostTensor;
  /** Uploads a fixture tensor. */
  tensor(name: string): Tensor;
  metadata: Record<string, string>;
}

export async function loadGolden(file: string): Promise<Golden> {
  const path = `test/fixtures/models/${file}`;
  const contents: SafetensorsContents = decodeSafetensors(await readRepoFile(path), path);
  const host = (name: string): HostTensor => {
    const t = contents.tensors.get(name);
    if (!t) throw new Error(`${path}: no tensor "${name}"`);
    return t;
  };
  return {
    group(prefix) {
      const out = new Map<string, HostTensor>();
      for (const [name, t] of contents.tensors) if (name.startsWith(prefix + ".")) out.set(name.slice(prefix.length + 1), t);
      return out;
    },
    host,
    tensor: (name) => {
      const t = host(name);
      return tensor(t.data, t.shape);
    },
    metadata: contents.metadata,
  };
}

/** The golden tests' measure: ‖a − e‖∞ / ‖e‖∞ ≤ tolerance, named in the failure. */
export async function assertGolden(actual: Tensor, expected: HostTensor, what: string, tolerance = 1e-4): Promise<number> {
  if (actual.shape.join() !== expected.shape.join()) {
    throw new AssertionError(`${what}: shape [${actual.shape}], expected [${expected.shape}]`);
  }
  const error = maxRelativeError(await actual.data(), expected.data);
  if (!(error <= tolerance)) throw new AssertionError(`${what}: relative error ${error.toExponential(2)} > ${tolerance}`);
  return error;
}

/** Compares every gradient in `grads` with the fixture's group `prefix`; returns the worst error. */
export async function assertGradients(
  grads: Record<string, Tensor>,
  expected: Map<string, HostTensor>,
  what: string,
  tolerance = 1e-4,
): Promise<number> {
  const names = Object.keys(grads);
  if (names.sort().join() !== [...expected.keys()].sort().join()) {
    throw new AssertionError(`${what}: parameters [${names}] differ from the fixture's [${[...expected.keys()]}]`);
  }
  let worst = 0;
  for (const [name, g] of Object.entries(grads)) {
    worst = Math.max(worst, await assertGolden(g, expected.get(name)!, `${what} ${name}`, tolerance));
  }
  return worst;
}
