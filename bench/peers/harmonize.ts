/**
 * Harmonize itself behind the same Peer interface as the other frameworks, so a benchmark times
 * every framework with one loop. `sync` flushes the command batch and waits for the queue.
 */
import { type Backend, type BackendOptions, init, matmul, type Tensor, tensor } from "../../src/mod.ts";
import type { HostTensor, MatmulOptions, Peer, Workload } from "./peer.ts";

/** A workload whose `op` makes one output tensor from the uploaded inputs. */
function workload(backend: Backend, inputs: Tensor[], op: () => Tensor): Workload {
  let output: Tensor | null = null;
  return {
    run() {
      output?.dispose();
      output = op();
    },
    sync: () => backend.sync(),
    async read() {
      if (!output) throw new Error("harmonize: read() before run()");
      return await output.floats();
    },
    dispose() {
      output?.dispose();
      output = null;
      for (const t of inputs) t.dispose();
    },
  };
}

/** Harmonize as a peer; `options` (e.g. the matmul variant) apply when it opens its device. */
export function harmonizePeer(options: BackendOptions = {}): Peer {
  let backend: Backend | null = null;
  const opened = (): Backend => {
    if (!backend) throw new Error("harmonize: init() first");
    return backend;
  };
  return {
    name: "harmonize",
    version: "harmonize (this repository)",

    async init() {
      backend ??= await init(options);
    },

    adapter() {
      const b = opened();
      return `${b.adapter.description} (matmul ${b.matmulVariant})`;
    },

    matmul(a: HostTensor, b: HostTensor, options: MatmulOptions = {}) {
      const [ta, tb] = [tensor(a.data, a.shape), tensor(b.data, b.shape)];
      return workload(opened(), [ta, tb], () => matmul(ta, tb, options));
    },
  };
}
