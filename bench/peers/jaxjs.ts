/**
 * jax-js on its WebGPU device as a benchmark peer. jax-js evaluates lazily and takes ownership of
 * every argument (reference counting), so inputs are passed as `.ref`; `blockUntilReady` dispatches
 * the pending kernels and waits for them through a queue-ordered (empty) read.
 */
import { type Array as JaxArray, defaultDevice, getWebGPUDevice, init, numpy as np } from "@jax-js/jax";
import type { HostTensor, MatmulOptions, Peer, Workload } from "./peer.ts";

function upload(x: HostTensor): JaxArray {
  return np.array(x.data, { shape: x.shape, dtype: np.float32, device: "webgpu" });
}

/** A workload whose `op` makes one output array from the uploaded inputs (borrowed with .ref). */
function workload(inputs: JaxArray[], op: () => JaxArray): Workload {
  let output: JaxArray | null = null;
  return {
    run() {
      output?.dispose();
      output = op();
    },
    async sync() {
      await output?.blockUntilReady();
    },
    async read() {
      if (!output) throw new Error("jax-js: read() before run()");
      return await output.ref.data() as Float32Array;
    },
    dispose() {
      output?.dispose();
      output = null;
      for (const x of inputs) x.dispose();
    },
  };
}

let ready = false;

export const jaxjs: Peer = {
  name: "jax-js",
  version: "@jax-js/jax 0.1.25",

  async init() {
    if (ready) return;
    const devices = await init("webgpu");
    if (!devices.includes("webgpu")) throw new Error("jax-js: the webgpu device failed to initialise");
    defaultDevice("webgpu");
    ready = true;
  },

  adapter() {
    const info = getWebGPUDevice().adapterInfo;
    return info.description || info.device || info.vendor || "unknown";
  },

  matmul(a: HostTensor, b: HostTensor, { transA = false, transB = false }: MatmulOptions = {}) {
    const [ja, jb] = [upload(a), upload(b)];
    return workload([ja, jb], () => {
      const left = transA ? np.matrixTranspose(ja.ref) : ja.ref;
      const right = transB ? np.matrixTranspose(jb.ref) : jb.ref;
      return np.matmul(left, right);
    });
  },
};
