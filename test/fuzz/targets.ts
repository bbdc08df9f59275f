// Every fuzz target, in the order the suite and bench/fuzz run them.

import { exampleTarget } from "./example_target.ts";
import type { FuzzTarget } from "./fuzz.ts";
import { jpegTarget } from "./jpeg_target.ts";
import { safetensorsTarget } from "./safetensors_target.ts";
import { tfrecordTarget } from "./tfrecord_target.ts";

export const FUZZ_TARGETS: FuzzTarget[] = [tfrecordTarget, exampleTarget, jpegTarget, safetensorsTarget];
