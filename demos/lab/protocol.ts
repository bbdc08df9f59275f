/** The messages between the lab page (which only draws) and its training worker. */
import type { GalleryEntry, PyramidInspection } from "../../src/harmonize/inspect.ts";
import type { EvalEvent, StepEvent } from "../../src/run/mod.ts";

export type { EvalEvent, StepEvent };

export type ModelChoice = "resnet" | "vit";

/** Everything that defines a run; lives in the URL hash so that a link reproduces it. */
export interface LabSettings {
  seed: number;
  /** Training images of the embedded dataset (its validation split is in the recipe's proportion). */
  records: number;
  model: ModelChoice;
  lambdaH: number;
  lr: number;
  batchSize: number;
  steps: number;
  evalEvery: number;
  autosaveEvery: number;
}

/** Where the training images come from: the embedded dataset, local shard files or shard URLs. */
export type DataChoice =
  | { kind: "embedded" }
  | { kind: "files"; files: File[] }
  | { kind: "urls"; urls: string[] };

export type PageMessage =
  /** Opens the device and builds a run; `resume` restores the last autosave instead of starting fresh. */
  | { type: "init"; settings: LabSettings; data: DataChoice; resume: boolean }
  | { type: "play" }
  | { type: "pause" }
  | { type: "step" }
  /** Changes that take effect before the next step. */
  | { type: "set"; lambdaH?: number; lr?: number; batchSize?: number }
  /** A painted map [size·size] for validation image `index`, added to the harmonized model's targets. */
  | { type: "add-target"; index: number; map: Float32Array }
  /** Shows the pyramid panel for validation image `index`. */
  | { type: "pyramid"; index: number }
  | { type: "download"; member: string }
  | { type: "upload"; files: File[] }
  /** Destroys the GPU device, as a driver reset would: the worker must recover from the autosave. */
  | { type: "lose-device" };


/** The gallery images as raw maps, for scoring a painted map: all [count·size·size] per map. */
export interface PaintImages {
  size: number;
  count: number;
  /** RGB bytes, [count, size, size, 3]. */
  images: Uint8Array;
  human: Float32Array;
  /** Each member's evaluation saliency. */
  saliency: Record<string, Float32Array>;
  /** Class names of the images. */
  labels: string[];
}

/** What an evaluation shows: each member's gallery (inspectModel's), and the raw maps for painting. */
export interface GalleryEvent {
  step: number;
  classNames: string[];
  galleries: Record<string, GalleryEntry[]>;
  paint: PaintImages;
}

export interface PyramidEvent {
  step: number;
  member: string;
  pyramid: PyramidInspection;
}

export type WorkerMessage =
  /**
   * The run is built; `settings` are the run's own (a resumed run keeps those it was saved with), and
   * `painted` counts the painted targets it trains on (a resumed run restores its own).
   */
  | { type: "ready"; adapter: string; settings: LabSettings; step: number; resumedFrom: number | null; painted: number }
  | { type: "state"; running: boolean; step: number; steps: number }
  | { type: "status"; text: string }
  | { type: "step"; events: StepEvent[] }
  | { type: "eval"; events: EvalEvent[] }
  | { type: "gallery"; gallery: GalleryEvent }
  | { type: "pyramid"; pyramid: PyramidEvent }
  /** Where the open run autosaves: to OPFS every `every` steps, or nowhere (`reason` says why). */
  | { type: "autosave"; enabled: true; every: number }
  | { type: "autosave"; enabled: false; reason: string }
  | { type: "autosaved"; step: number }
  | { type: "saved-run"; step: number | null; settings: LabSettings | null }
  | { type: "recovered"; step: number; reason: string }
  | { type: "file"; name: string; bytes: Uint8Array }
  | { type: "error"; message: string };
