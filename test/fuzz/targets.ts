// Every fuzz target, in the order the suite and bench/fuzz run them.

import { cliFlagsTarget } from "./cli_flags_target.ts";
import { exampleTarget } from "./example_target.ts";
import type { FuzzTarget } from "./fuzz.ts";
import { jpegTarget } from "./jpeg_target.ts";
import { modelConfigTarget } from "./model_config_target.ts";
import { safetensorsTarget } from "./safetensors_target.ts";
import { tfrecordTarget } from "./tfrecord_target.ts";

export const FUZZ_TARGETS: FuzzTarget[] = [tfrecordTarget, exampleTarget, jpegTarget, safetensorsTarget, modelConfigTarget, cliFlagsTarget];
