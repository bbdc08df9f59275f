/** Fully connected layer over the last axis, with PyTorch's weight layout. */
import type { Tensor } from "../tensor.ts";
import { add } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { keepStagedOperands } from "./kernels/matmul.ts";
import { reshape } from "./movement.ts";
import { shapeString } from "./shape.ts";

/**
 * x [..., in] · weightᵀ + bias, weight [out, in], bias [out]: one matmul over all leading axes. The
 * weight's staged matmul operands are kept beside it: every order of the gradient multiplies by it again.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const inFeatures = x.shape[x.rank - 1];
  if (x.rank < 1 || weight.rank !== 2 || weight.shape[1] !== inFeatures) {
    throw new Error(`linear: x ${shapeString(x.shape)} needs weight [out, ${inFeatures}], got ${shapeString(weight.shape)}`);
  }
  const outFeatures = weight.shape[0];
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outFeatures)) {
    throw new Error(`linear: bias ${shapeString(bias.shape)} must be [${outFeatures}] for weight ${shapeString(weight.shape)}`);
  }
  keepStagedOperands(weight);
  const rows = reshape(x, [-1, inFeatures]);
  const product = matmul(rows, weight, { transB: true });
  const y = bias ? add(product, bias) : product;
  return reshape(y, [...x.shape.slice(0, -1), outFeatures]);
}
