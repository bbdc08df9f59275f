/** Softmax and log-softmax along one axis, stable for large inputs. */
import type { Tensor } from "../tensor.ts";
import { exp, sub } from "./elementwise.ts";
import { logSumExp } from "./reduce.ts";

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return sub(x, logSumExp(x, axis, true));
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return exp(logSoftmax(x, axis));
}
