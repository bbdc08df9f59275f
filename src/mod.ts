/**
 * Harmonize: train vision models to look where people look, on WebGPU.
 * The public API: tensors and ops, autodiff, memory scopes, the runtime, layers and models,
 * safetensors, harmonization and (as `data`) the ClickMe data stack.
 */
export { dispose, init, keep, memory, shutdown, tidy, type TensorTree } from "./engine.ts";
export { Backend, type BackendOptions, type DeviceLostInfo } from "./backend/backend.ts";
export {
  type AdapterKind,
  type AttentionVariant,
  type BatchNormVariant,
  type ConvVariant,
  KERNEL_FALLBACKS,
  KERNEL_VARIANTS,
  type KernelOp,
  type KernelPolicy,
  type KernelVariants,
  type MatmulVariant,
  type ReluFusionVariant,
} from "./backend/kernel_policy.ts";
export type { MemoryStats } from "./backend/buffer_pool.ts";
export {
  formatProfile,
  type FormatOptions,
  type KernelRow,
  markPhase,
  type OpenProfile,
  type PhaseRow,
  type PrimitiveRow,
  profile,
  type ProfileReport,
  startProfile,
} from "./profile.ts";
export type { AdapterReport } from "./backend/webgpu.ts";
export { type DType, type Shape, Tensor } from "./tensor.ts";
export * from "./ops/creation.ts";
export * from "./ops/elementwise.ts";
export * from "./ops/reduce.ts";
export * from "./ops/matmul.ts";
export * from "./ops/movement.ts";
export * from "./ops/indexing.ts";
export * from "./ops/softmax.ts";
export * from "./ops/conv.ts";
export * from "./ops/pool.ts";
export * from "./ops/batch_norm.ts";
export { addRelu } from "./ops/fused_relu.ts";
export { gelu, geluTanh } from "./ops/activation.ts";
export { layerNorm, type LayerNormImplementation, type LayerNormOptions } from "./ops/layer_norm.ts";
export { dropout, type DropoutOptions } from "./ops/dropout.ts";
export { linear } from "./ops/linear.ts";
export { attention, type AttentionImplementation, type AttentionOptions, packedAttention, qkvAttention } from "./ops/attention.ts";
export { grad, valueAndGrad, valueAndGradWithAux } from "./autograd/grad.ts";
export { BINARY_OPS, type Primitive, UNARY_OPS } from "./primitive.ts";
export * from "./ops/blur.ts";
export { tfSamePadding } from "./ops/same_padding.ts";
export * from "./nn/mod.ts";
export * from "./models/mod.ts";
export * from "./io/safetensors.ts";
export * from "./harmonize/mod.ts";
/** The ClickMe data stack (sources, TFRecord, Example, JPEG, preprocessing, loader, writer). */
export * as data from "./data/mod.ts";
