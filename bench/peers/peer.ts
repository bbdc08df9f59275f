/**
 * What a benchmark asks of a framework ("peer"): one object per framework whose optional methods
 * each prepare one workload from host data. A workload enqueues the op with `run()` and waits for
 * the GPU to finish with `sync()`, so a timer around both measures completed GPU work. A peer
 * that lacks an op leaves the method out and the table shows "—".
 */

/** Host-side float32 data with a row-major shape. */
export interface HostTensor {
  data: Float32Array<ArrayBuffer>;
  shape: number[];
}

/** One prepared operation on a peer's own device; inputs are uploaded already. */
export interface Workload {
  /** Enqueues one repetition (releasing the previous repetition's outputs). */
  run(): void;
  /** Resolves when every repetition enqueued so far has finished on the GPU. */
  sync(): Promise<void>;
  /** The last repetition's (first) output, read back, to cross-check peers against each other. */
  read(): Promise<Float32Array>;
  /** Frees inputs and outputs on the peer's device. */
  dispose(): void;
}

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** Geometry of a benchmarked convolution: the same stride and padding on both spatial axes. */
export interface ConvOptions {
  stride: number;
  padding: number;
}

export interface Peer {
  /** Short name used in table headers and on the command line, e.g. "tfjs". */
  readonly name: string;
  /** Package and version, for the report header. */
  readonly version: string;
  /** Opens the peer's device (its own GPUDevice on the shared adapter); idempotent. */
  init(): Promise<void>;
  /** A description of the adapter the peer runs on, once initialised. */
  adapter(): string;
  /** out = op(a) · op(b) for a [..., M, K]-style pair (op = optional transpose). */
  matmul?(a: HostTensor, b: HostTensor, options?: MatmulOptions): Workload;
  /** y = conv2d(x, w): x NCHW, w OIHW (PyTorch's layouts; a peer may re-lay the host data once). */
  conv2d?(x: HostTensor, w: HostTensor, options: ConvOptions): Workload;
  /**
   * Σ conv2d(x, w) and its gradients w.r.t. x and w (forward, input gradient, weight gradient);
   * `read()` gives the input gradient (NCHW) followed by the weight gradient (OIHW), flattened.
   */
  conv2dTrain?(x: HostTensor, w: HostTensor, options: ConvOptions): Workload;
}

/** How one framework makes, waits for and reads the outputs of a workload (see outputWorkload). */
export interface WorkloadParts<T extends { dispose(): void }> {
  /** The peer's name, for errors. */
  peer: string;
  /** Uploaded inputs, freed with the workload. */
  inputs: T[];
  /** One repetition: the output tensors made from the inputs. */
  op: () => T | T[];
  /** Resolves when the outputs (and all work before them) are done on the GPU. */
  sync: (outputs: T[]) => Promise<void>;
  /** The outputs' values in the benchmark's layout, one array per output to be compared. */
  read: (outputs: T[]) => Promise<Float32Array[]>;
  /** Frees what the workload owns besides its inputs and outputs (e.g. a jitted function). */
  release?: () => void;
}

/** A Workload that keeps only the latest repetition's outputs, freeing the previous ones on run(). */
export function outputWorkload<T extends { dispose(): void }>(parts: WorkloadParts<T>): Workload {
  let outputs: T[] = [];
  const drop = () => {
    for (const t of outputs) t.dispose();
    outputs = [];
  };
  return {
    run() {
      drop();
      outputs = [parts.op()].flat() as T[];
    },
    sync: () => parts.sync(outputs),
    async read() {
      if (outputs.length === 0) throw new Error(`${parts.peer}: read() before run()`);
      return joinOutputs(await parts.read(outputs));
    },
    dispose() {
      drop();
      for (const t of parts.inputs) t.dispose();
      parts.release?.();
    },
  };
}

/** The outputs of one repetition read back and laid end to end (what Workload.read returns). */
function joinOutputs(parts: Float32Array[]): Float32Array {
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}
