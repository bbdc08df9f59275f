/** A batch on the GPU, in the layouts the models and the harmonizer loss take. */
import type { Tensor } from "../tensor.ts";

/** Labels int32 [N]; tokens [N] is 1 where a human map exists. */
export interface Batch {
  images: Tensor;
  heatmaps: Tensor;
  labels: Tensor;
  tokens: Tensor;
}
