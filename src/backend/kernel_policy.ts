/**
 * Which kernel each op runs on this adapter, decided once when the backend opens (see
 * docs/kernels.md). CPU adapters (lavapipe, SwiftShader) fetch texels as one vectorised gather but
 * read storage buffers a SIMD lane at a time, so they stage operands in textures; GPUs read buffers.
 */

/**
 * Matmul kernels: "textures" stages both operands as rgba32float textures (CPU adapters),
 * "registers" reads storage buffers into register tiles, "shared" stages tiles through workgroup
 * memory (GPUs).
 */
export type MatmulVariant = "textures" | "registers" | "shared";

/**
 * conv2d kernels: "textures" packs operands channels-last into rgba32float textures (CPU adapters),
 * "buffers" reads the NCHW/OIHW storage buffers directly (GPUs).
 */
export type ConvVariant = "textures" | "buffers";

/**
 * Attention: "fused" is the FlashAttention-style kernel (texture-staged on every adapter), "composed"
 * is matmul → softmax → matmul.
 */
export type AttentionVariant = "fused" | "composed";

/**
 * The gradient of fused attention's backward (a harmonized step's double backward): "fused" is the
 * attentionDoubleBackward kernels, "composed" the same products in matmuls and elementwise ops.
 */
export type AttentionDoubleBackwardVariant = "fused" | "composed";

/**
 * Batch norm: "fused" is the batch-norm primitives (statistics, normalisation and backward as
 * kernels), "composed" is mean → subtract → rsqrt → multiply from elementwise primitives.
 */
export type BatchNormVariant = "fused" | "composed";

/**
 * A ReLU right after a batch norm or a residual add (ResNet blocks): "fused" takes it in that op's
 * kernel (batchNormTrainRelu, batchNormEvalRelu, addRelu), "separate" runs relu on its own.
 */
export type ReluFusionVariant = "fused" | "separate";

/**
 * Optimizer updates (SGD, AdamW): "fused" is one kernel per parameter (shaders/optimizer.wgsl),
 * "composed" is the same rule as elementwise ops (several dispatches per parameter).
 */
export type OptimizerVariant = "fused" | "composed";

/**
 * Summing a tensor's cotangent contributions in backward(): "addN" keeps them until all have come or
 * the cotangent is read and adds them in one kernel (src/ops/add_n.ts), "chain" adds each as it
 * arrives; same bits.
 */
export type CotangentSumVariant = "addN" | "chain";

/** The chosen variant of every op that has more than one. */
export interface KernelVariants {
  matmul: MatmulVariant;
  conv: ConvVariant;
  attention: AttentionVariant;
  attentionDoubleBackward: AttentionDoubleBackwardVariant;
  batchNorm: BatchNormVariant;
  reluFusion: ReluFusionVariant;
  optimizer: OptimizerVariant;
  cotangentSum: CotangentSumVariant;
}

export type KernelOp = keyof KernelVariants;

export const KERNEL_VARIANTS: { readonly [O in KernelOp]: readonly KernelVariants[O][] } = {
  matmul: ["textures", "registers", "shared"],
  conv: ["textures", "buffers"],
  attention: ["fused", "composed"],
  attentionDoubleBackward: ["fused", "composed"],
  batchNorm: ["fused", "composed"],
  reluFusion: ["fused", "separate"],
  optimizer: ["fused", "composed"],
  cotangentSum: ["addN", "chain"],
};

/**
 * What runs when the chosen variant cannot take a case: matmul and conv operands beyond the texture
 * limits (and conv with groups ≠ 1) use the buffer kernels; attention the fused kernel cannot take
 * (head dim not a multiple of 4 or above 64, Tq ≠ Tk, beyond the limits) is composed, and so is the
 * gradient of its backward beyond the double-backward kernels' limits; so is batch
 * norm past the fused kernels' 134 M values per channel, and with it the ReLU it would have fused.
 */
export const KERNEL_FALLBACKS = {
  matmul: "registers",
  conv: "buffers",
  attention: "composed",
  attentionDoubleBackward: "composed",
  batchNorm: "composed",
  reluFusion: "separate",
  optimizer: "composed",
  cotangentSum: "chain",
} as const satisfies KernelVariants;

/** How an adapter runs compute: a GPU, or one of the CPU implementations. */
export type AdapterKind = "gpu" | "lavapipe" | "swiftshader" | "software";

export interface KernelPolicy {
  /** Change one with `backend.setKernelVariant(op, variant)`, the only way. */
  readonly variants: Readonly<KernelVariants>;
  readonly fallbacks: typeof KERNEL_FALLBACKS;
  /**
   * Iterations after which the adapter ends a shader invocation's loops, or null where it does not:
   * llvmpipe (lavapipe) stops at 65 535 in all, so launchers split longer loops there.
   */
  readonly loopLimit: number | null;
}

const LAVAPIPE_LOOP_LIMIT = 65535;

/** Throws a one-line error unless `variant` is one of `op`'s variants. */
export function checkVariant<O extends KernelOp>(op: O, variant: unknown): KernelVariants[O] {
  const allowed = KERNEL_VARIANTS[op] as readonly unknown[];
  if (!allowed.includes(variant)) {
    throw new Error(`kernels.${op}: "${variant}" is not a variant of ${op} (${allowed.map((v) => `"${v}"`).join(", ")})`);
  }
  return variant as KernelVariants[O];
}

/** The default variants for an adapter of `kind`, with the caller's choices (`init({ kernels })`) on top. */
export function resolveKernelPolicy(kind: AdapterKind, chosen: Partial<KernelVariants> = {}): KernelPolicy {
  const cpu = kind !== "gpu";
  const variants: KernelVariants = {
    matmul: cpu ? "textures" : "shared",
    conv: cpu ? "textures" : "buffers",
    attention: "fused",
    attentionDoubleBackward: "fused",
    batchNorm: "fused",
    reluFusion: "fused",
    optimizer: "fused",
    cotangentSum: "addN",
  };
  for (const op of Object.keys(chosen) as KernelOp[]) {
    if (!(op in KERNEL_VARIANTS)) throw new Error(`kernels: unknown op "${op}" (${Object.keys(KERNEL_VARIANTS).join(", ")})`);
    if (chosen[op] !== undefined) (variants as unknown as Record<string, string>)[op] = checkVariant(op, chosen[op]);
  }
  return { variants, fallbacks: KERNEL_FALLBACKS, loopLimit: kind === "lavapipe" ? LAVAPIPE_LOOP_LIMIT : null };
}
