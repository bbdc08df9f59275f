/**
 * Model state that is saved in the state dict but not trained (BatchNorm's running statistics and
 * batch counter): no optimizer or gradient touches it; the module updates it itself.
 */
import { TensorHolder } from "./tensor_holder.ts";

export class Buffer extends TensorHolder {}
