/**
 * jax-js on its WebGPU device as a benchmark peer. jax-js evaluates lazily and takes ownership of
 * every argument (reference counting), so inputs are passed as `.ref`; `blockUntilReady` dispatches
 * the pending kernels and waits for them through a queue-ordered (empty) read.
 */
import { type Array as JaxArray, defaultDevice, getWebGPUDevice, init, jit, lax, numpy as np, valueAndGrad } from "@jax-js/jax";
import { outputWorkload, type ConvOptions, type HostTensor, type MatmulOptions, type Peer, type Workload } from "./peer.ts";

function upload(x: HostTensor): JaxArray {
  return np.array(x.data, { shape: x.shape, dtype: np.float32, device: "webgpu" });
}

/**
 * A workload whose `op` makes its output arrays from the uploaded inputs (borrowed with .ref);
 * `read` concatenates the first `readable` of them (default all); `release` frees what the
 * workload owns besides (a jitted function).
 */
function workload(
  inputs: JaxArray[],
  op: () => JaxArray | JaxArray[],
  { release, readable }: { release?: () => void; readable?: number } = {},
): Workload {
  return outputWorkload({
    peer: "jax-js",
    inputs,
    op,
    async sync(outputs) {
      for (const x of outputs) await x.blockUntilReady();
    },
    read: (outputs) => Promise.all(outputs.slice(0, readable).map(async (x) => await x.ref.data() as Float32Array)),
    release,
  });
}

/** lax's convolution on NCHW/OIHW arrays (the benchmark's layouts), symmetric padding. */
function conv(x: JaxArray, w: JaxArray, { stride, padding }: ConvOptions): JaxArray {
  return lax.convGeneralDilated(x, w, [stride, stride], [[padding, padding], [padding, padding]]);
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

  conv2d(x: HostTensor, w: HostTensor, options: ConvOptions) {
    const [jx, jw] = [upload(x), upload(w)];
    const forward = jit((a: JaxArray, b: JaxArray) => conv(a, b, options));
    return workload([jx, jw], () => forward(jx.ref, jw.ref), { release: () => forward.dispose() });
  },

  conv2dTrain(x: HostTensor, w: HostTensor, options: ConvOptions) {
    const [jx, jw] = [upload(x), upload(w)];
    // valueAndGrad (not grad) keeps the forward: f+b counts 3 convolutions. Not jitted: under jit
    // this step ran at 0.89 GFLOP/s, eagerly at 1.39 (batch 8, 56×56 64→64, lavapipe).
    const step = valueAndGrad((p: JaxArray, q: JaxArray) => np.sum(conv(p, q, options)), { argnums: [0, 1] });
    return workload([jx, jw], () => {
      const [value, [gx, gw]] = step(jx.ref, jw.ref);
      return [gx, gw, value];
    }, { readable: 2 });
  },
};
