/**
 * TensorFlow.js with its WebGPU backend as a benchmark peer. tfjs records dispatches into its own
 * command encoder; `sync` submits that encoder and waits for the queue, so no readback sits in
 * the timed region.
 */
import * as tf from "@tensorflow/tfjs-core";
import { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { HostTensor, MatmulOptions, Peer, Workload } from "./peer.ts";

function backend(): WebGPUBackend {
  const active = tf.backend();
  if (!(active instanceof WebGPUBackend)) throw new Error(`tfjs: expected the webgpu backend, got ${tf.getBackend()}`);
  return active;
}

/** Submits tfjs's pending commands and waits until the GPU has run them. */
async function sync(): Promise<void> {
  const gpu = backend();
  gpu.ensureCommandEncoderReady();
  gpu.endComputePassEncoder();
  gpu.submitQueue();
  await gpu.device.queue.onSubmittedWorkDone();
}

function upload(x: HostTensor): tf.Tensor {
  return tf.tensor(x.data, x.shape, "float32");
}

/** A workload whose `op` makes one output tensor from the uploaded inputs. */
function workload(inputs: tf.Tensor[], op: () => tf.Tensor): Workload {
  let output: tf.Tensor | null = null;
  return {
    run() {
      output?.dispose();
      output = op();
    },
    sync,
    async read() {
      if (!output) throw new Error("tfjs: read() before run()");
      return await output.data() as Float32Array;
    },
    dispose() {
      output?.dispose();
      output = null;
      for (const t of inputs) t.dispose();
    },
  };
}

export const tfjs: Peer = {
  name: "tfjs",
  version: `@tensorflow/tfjs-backend-webgpu ${tf.version_core}`,

  async init() {
    if (tf.getBackend() === "webgpu") return;
    if (!(await tf.setBackend("webgpu"))) throw new Error("tfjs: the webgpu backend failed to initialise");
    await tf.ready();
  },

  adapter() {
    const info = backend().device.adapterInfo;
    return info.description || info.device || info.vendor || "unknown";
  },

  matmul(a: HostTensor, b: HostTensor, { transA = false, transB = false }: MatmulOptions = {}) {
    const [ta, tb] = [upload(a), upload(b)];
    return workload([ta, tb], () => tf.matMul(ta, tb, transA, transB));
  },
};
