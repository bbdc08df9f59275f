/**
 * Harmonize itself behind the same Peer interface as the other frameworks, so a benchmark times
 * every framework with one loop. `sync` flushes the command batch and waits for the queue.
 */
import { type Backend, type BackendOptions, conv2d, grad, init, matmul, sum, type Tensor, tensor, tidy } from "../../src/mod.ts";
import { outputWorkload, type ConvOptions, type HostTensor, type MatmulOptions, type Peer, type Workload } from "./peer.ts";

/** A workload whose `op` makes its output tensors from the uploaded inputs; `read` concatenates them. */
function workload(backend: Backend, inputs: Tensor[], op: () => Tensor | Tensor[]): Workload {
  return outputWorkload({
    peer: "harmonize",
    inputs,
    op,
    sync: () => backend.sync(),
    read: (outputs) => Promise.all(outputs.map((t) => t.floats())),
  });
}

/**
 * x and w for each repetition. The texture convolutions keep a tensor's packings beside it
 * (conv_textures.ts), which peers do not: with them every repetition uploads x and w again as new
 * tensors (timed), so it packs them again. The buffer kernels pack nothing and reuse one upload.
 */
function convOperands(backend: Backend, x: HostTensor, w: HostTensor): { inputs: Tensor[]; operands: () => [Tensor, Tensor] } {
  const upload = (): [Tensor, Tensor] => [tensor(x.data, x.shape), tensor(w.data, w.shape)];
  if (backend.kernels.variants.conv === "textures") return { inputs: [], operands: upload };
  const uploaded = upload();
  return { inputs: uploaded, operands: () => uploaded };
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
      const { matmul, conv } = b.kernels.variants;
      return `${b.adapter.description} (matmul ${matmul}, conv ${conv})`;
    },

    matmul(a: HostTensor, b: HostTensor, options: MatmulOptions = {}) {
      const [ta, tb] = [tensor(a.data, a.shape), tensor(b.data, b.shape)];
      return workload(opened(), [ta, tb], () => matmul(ta, tb, options));
    },

    conv2d(x: HostTensor, w: HostTensor, options: ConvOptions) {
      const { inputs, operands } = convOperands(opened(), x, w);
      return workload(opened(), inputs, () => tidy(() => conv2d(...operands(), options)));
    },

    conv2dTrain(x: HostTensor, w: HostTensor, options: ConvOptions) {
      const { inputs, operands } = convOperands(opened(), x, w);
      const gradients = grad(([a, b]: Tensor[]) => sum(conv2d(a, b, options)));
      return workload(opened(), inputs, () => tidy(() => gradients(operands())));
    },
  };
}
