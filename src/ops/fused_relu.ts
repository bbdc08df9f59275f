/**
 * A ReLU taken in the kernel of the op before it, as ResNet blocks end: relu(batch norm) and the
 * residual relu(a + b). Their outputs are the unfused ones', bit for bit; the gradient masks the
 * cotangent by the output (reluGrad) and goes on as the unfused op's, in public ops, so every
 * order of derivative exists. One kernel and one activation fewer, forward and on the tape.
 * The kernel policy's `reluFusion` ("fused" or "separate") decides which runs.
 *
 *   batchNormTrainRelu(x, γ, β)            → relu(batchNormTrain(x, γ, β))
 *   batchNormEvalRelu(x, mean, var, γ, β)  → relu(batchNormEval(x, mean, var, γ, β))
 *   addRelu(a, b)                          → relu(a + b), broadcasting
 */
import type { Tensor } from "../tensor.ts";
import { engine } from "../engine.ts";
import { apply } from "./apply.ts";
import { add, relu } from "./elementwise.ts";

export const batchNormTrainRelu = (x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor =>
  apply("batchNormTrainRelu", [x, weight, bias], { eps });
export const batchNormEvalRelu = (x: Tensor, mean: Tensor, variance: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor =>
  apply("batchNormEvalRelu", [x, mean, variance, weight, bias], { eps });

/** Whether the kernel policy fuses a ReLU into the op before it. */
export const reluFused = (): boolean => engine.backend.kernels.variants.reluFusion === "fused";

/** relu(a + b) (numpy broadcasting): one kernel where the policy fuses it. */
export function addRelu(a: Tensor, b: Tensor): Tensor {
  return reluFused() ? apply("addRelu", [a, b], {}) : relu(add(a, b));
}
