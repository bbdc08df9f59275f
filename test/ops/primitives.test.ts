/** The op-spec table, checked row by row (see spec.ts); specs/ holds the rows. */
import { checkSpec } from "./spec.ts";
import { CORE_SPECS } from "./specs/core.ts";
import { BLUR_SPECS } from "./specs/blur.ts";
import { BATCH_NORM_SPECS } from "./specs/batch_norm.ts";
import { FUSED_RELU_SPECS } from "./specs/fused_relu.ts";
import { REDUCE_SPECS } from "./specs/reduce.ts";
import { ADD_N_SPECS } from "./specs/add_n.ts";

for (const spec of [...CORE_SPECS, ...BLUR_SPECS, ...BATCH_NORM_SPECS, ...FUSED_RELU_SPECS, ...REDUCE_SPECS, ...ADD_N_SPECS]) checkSpec(spec);
