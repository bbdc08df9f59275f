/** Layers with PyTorch names and layouts, and the Module system they are built on. */
export { type LoadOptions, type LoadReport, Module, type ParameterTree, type StateDict } from "./module.ts";
export { Parameter } from "./parameter.ts";
export { Buffer } from "./buffer.ts";
export { TensorHolder } from "./tensor_holder.ts";
export { weightDecayGroups, type WeightDecayGroups } from "./parameter_groups.ts";
export { fans, kaimingNormalFanOut, kaimingUniformDefault, SeedStream, truncNormal, uniform } from "./init.ts";
export { Conv2d, type Conv2dLayerOptions } from "./conv2d.ts";
export { BatchNorm2d, type BatchNorm2dOptions } from "./batch_norm2d.ts";
export { Linear, type LinearOptions } from "./linear.ts";
export { LayerNorm } from "./layer_norm.ts";
export { GELU, ReLU } from "./activation.ts";
export { Dropout } from "./dropout.ts";
export { AdaptiveAvgPool2d, MaxPool2d } from "./pooling.ts";
export { Identity } from "./identity.ts";
export { Sequential } from "./sequential.ts";
