/**
 * A trainable model tensor: the optimizers update it, autodiff differentiates with respect to it
 * (`Module.parameterTree()`). Which parameters are weight-decayed is a parameter-group choice
 * (`weightDecayGroups` in parameter_groups.ts), not a property of the parameter.
 */
import { TensorHolder } from "./tensor_holder.ts";

export class Parameter extends TensorHolder {}
