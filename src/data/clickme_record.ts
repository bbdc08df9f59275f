// The two record layouts the loader reads: ClickMe (image, heatmap, label) and plain labelled
// images (image, label), as in the reference training mix.

import { encodeExample, type Features, requireFeature } from "./example.ts";

export type RecordLayout = "clickme" | "images";

export interface EncodedSample {
  image: Uint8Array;
  /** Absent for plain images: they train with a zero map and t = 0. */
  heatmap?: Uint8Array;
  label: number;
}

const MAX_LABEL = 2 ** 31 - 1;

/** Reads the features of one layout; throws an error naming the offending feature. */
export function parseSample(features: Features, layout: RecordLayout): EncodedSample {
  const [image] = requireFeature(features, "image", "bytes", 1);
  const [label] = requireFeature(features, "label", "int64", 1);
  // Labels travel as int32 class indices; anything else would wrap silently in the batch.
  if (label < 0 || label > MAX_LABEL) throw new Error(`feature 'label' is ${label}, not a class index in [0, ${MAX_LABEL}]`);
  if (layout === "images") return { image, label };
  const [heatmap] = requireFeature(features, "heatmap", "bytes", 1);
  return { image, heatmap, label };
}

export function encodeSample(sample: EncodedSample): Uint8Array {
  return encodeExample({
    image: { kind: "bytes", values: [sample.image] },
    ...(sample.heatmap ? { heatmap: { kind: "bytes" as const, values: [sample.heatmap] } } : {}),
    label: { kind: "int64", values: [sample.label] },
  });
}
