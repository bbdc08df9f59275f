/**
 * TensorFlow.js with its WebGPU backend as a benchmark peer. tfjs records dispatches into its own
 * command encoder; `sync` submits that encoder and waits for the queue, so no readback sits in
 * the timed region.
 */
import * as tf from "@tensorflow/tfjs-core";
import { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { outputWorkload, type ConvOptions, type HostTensor, type MatmulOptions, type Peer, type Workload } from "./peer.ts";

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

/**
 * Row-major data of `shape` with its axes reordered: axis i of the result is axis `order[i]` of the
 * input. tfjs convolves NHWC inputs with HWIO filters, so the benchmark's NCHW/OIHW host data is
 * re-laid once before upload and results are re-laid back after readback (both untimed).
 */
function permuteHost(data: Float32Array, shape: readonly number[], order: readonly number[]): HostTensor {
  const outShape = order.map((axis) => shape[axis]);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((n, d) => n * d, 1));
  const out = new Float32Array(data.length);
  const index = new Array(outShape.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    let source = 0;
    for (let d = 0; d < outShape.length; d++) source += index[d] * strides[order[d]];
    out[i] = data[source];
    for (let d = outShape.length - 1; d >= 0 && ++index[d] === outShape[d]; d--) index[d] = 0;
  }
  return { data: out, shape: outShape };
}

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];
const OIHW_TO_HWIO = [2, 3, 1, 0];
const HWIO_TO_OIHW = [3, 2, 0, 1];

/**
 * A workload whose `op` makes its output tensors from the uploaded inputs; `read` re-lays each
 * output with its entry of `readOrders` (none: as is) and concatenates them.
 */
function workload(inputs: tf.Tensor[], op: () => tf.Tensor | tf.Tensor[], readOrders: (number[] | null)[] = []): Workload {
  return outputWorkload({
    peer: "tfjs",
    inputs,
    op,
    sync: () => sync(),
    read: (outputs) =>
      Promise.all(outputs.map(async (t, i) => {
        const data = await t.data() as Float32Array;
        const order = readOrders[i];
        return order ? permuteHost(data, t.shape, order).data : data;
      })),
  });
}

/**
 * tfjs-core's Node entry registers no gradients (the @tensorflow/tfjs bundle registers them through
 * ESM files whose extensionless relative imports Deno cannot load), so the benchmark registers
 * tfjs's own Conv2D gradient (tfjs-core src/gradients/Conv2D_grad.ts): the backend's
 * Conv2DBackpropInput and Conv2DBackpropFilter kernels.
 */
function registerConv2dGradient(): void {
  if (tf.getGradient(tf.Conv2D)) return;
  tf.registerGradient({
    kernelName: tf.Conv2D,
    inputsToSave: ["x", "filter"],
    gradFunc: (dyOrList, saved, attrs) => {
      const dy = dyOrList as tf.Tensor4D;
      const [x, filter] = saved;
      const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
      const common = { strides, pad, dataFormat, dimRoundingMode };
      return {
        x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      };
    },
  });
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

  conv2d(x: HostTensor, w: HostTensor, { stride, padding }: ConvOptions) {
    const tx = upload(permuteHost(x.data, x.shape, NCHW_TO_NHWC)) as tf.Tensor4D;
    const tw = upload(permuteHost(w.data, w.shape, OIHW_TO_HWIO)) as tf.Tensor4D;
    return workload([tx, tw], () => tf.conv2d(tx, tw, stride, padding), [NHWC_TO_NCHW]);
  },

  conv2dTrain(x: HostTensor, w: HostTensor, { stride, padding }: ConvOptions) {
    registerConv2dGradient();
    const tx = upload(permuteHost(x.data, x.shape, NCHW_TO_NHWC)) as tf.Tensor4D;
    const tw = upload(permuteHost(w.data, w.shape, OIHW_TO_HWIO)) as tf.Tensor4D;
    // The gradients of Σ conv2d(x, w) are those of conv2d(x, w) with an all-ones dy.
    const ones = tf.tidy(() => tf.onesLike(tf.conv2d(tx, tw, stride, padding)));
    const gradients = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, padding));
    return workload([tx, tw, ones], () => gradients([tx, tw], ones), [NHWC_TO_NCHW, HWIO_TO_OIHW]);
  },
};
