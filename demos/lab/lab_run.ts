/**
 * The lab's run: the library's Run (src/run/) with a plain and a harmonized member on the same
 * batches, configured from the lab's settings, plus what the page shows of the validation set.
 * Evaluation goes through inspectModel, which draws the gallery and pyramid in eval mode: drawing
 * never changes training state.
 */
import { dispose } from "../../src/engine.ts";
import type { ModelConfig } from "../../src/models/mod.ts";
import type { HostBatch } from "../../src/data/loader.ts";
import type { Batch } from "../../src/data/batch.ts";
import type { ShardInput } from "../../src/data/shard_list.ts";
import { urlSource } from "../../src/data/source.ts";
import { SYNTH_CLASS_NAMES } from "../../src/data/synthetic.ts";
import { toTensors } from "../../src/data/gpu_batches.ts";
import { evaluate } from "../../src/harmonize/evaluate.ts";
import { type Inspection, inspectModel } from "../../src/harmonize/inspect.ts";
import { rgbImage } from "../../src/harmonize/map_images.ts";
import { type Member, Run, type RunConfig, type RunData, type RunStorage } from "../../src/run/mod.ts";
import { countTrainingRecords, type DataSpec, defaultAugment, embeddedSpec, runData } from "../../src/run/dataset.ts";
import { MAIN_RECIPE, recipeRunConfig } from "../../src/run/recipe.ts";
import { PAINTED_TARGETS_FILE, PaintedTargets } from "./painted_targets.ts";
import type { DataChoice, LabSettings, PaintImages } from "./protocol.ts";

export const IMAGE_SIZE = MAIN_RECIPE.imageSize;
export const CLASSES = MAIN_RECIPE.classes;
const GALLERY_IMAGES = 6;

/** The recipe's tiny ResNet, or a tiny ViT of the same input (4×4 patches, two blocks). */
function modelConfig(settings: LabSettings): ModelConfig {
  return settings.model === "vit"
    ? { arch: "vit", imageSize: IMAGE_SIZE, patchSize: 4, width: 48, depth: 2, heads: 3, mlpWidth: 96, classes: CLASSES, seed: settings.seed }
    : { ...MAIN_RECIPE.model, classes: CLASSES, seed: settings.seed } as ModelConfig;
}

/** The main job's recipe (src/run/recipe.ts) with the lab's settings over it. */
export function runConfig(settings: LabSettings): RunConfig {
  const recipe = recipeRunConfig(MAIN_RECIPE, { seed: settings.seed, evalEvery: settings.evalEvery, checkpointEvery: settings.autosaveEvery });
  return {
    ...recipe,
    model: modelConfig(settings),
    batchSize: settings.batchSize,
    schedule: { ...recipe.schedule, base: settings.lr },
    loss: { ...recipe.loss, harmonization: settings.lambdaH },
    totalSteps: settings.steps,
  };
}

/**
 * The run's data as `harmonize train` describes it: the embedded dataset drawn from the seed (or the
 * chosen shard files or URLs for training), validated on the embedded validation split, which has no
 * shortcut; `harmonize eval --synthetic-records N --seed S` rebuilds the same validation images.
 */
function dataSpec(settings: LabSettings, choice: DataChoice): DataSpec {
  const embedded = choice.kind === "embedded";
  const train: ShardInput[] | "embedded" = choice.kind === "files" ? choice.files : choice.kind === "urls" ? choice.urls.map((u) => urlSource(u)) : "embedded";
  return {
    train: train as DataSpec["train"],
    val: "embedded",
    images: [],
    imagesWeight: 0,
    size: IMAGE_SIZE,
    classes: CLASSES,
    embedded: embeddedSpec(settings.records),
    augment: defaultAugment(embedded),
    seed: settings.seed,
    skipCorrupt: false,
    workers: 0,
    records: null,
  };
}

export class LabRun {
  /** The latest inspection of each member (gallery, pyramid, evaluation). */
  readonly inspections = new Map<string, Inspection>();

  private constructor(
    readonly run: Run,
    readonly settings: LabSettings,
    readonly validation: HostBatch[],
    readonly painted: PaintedTargets,
    readonly storage: RunStorage,
  ) {}

  static async open(settings: LabSettings, choice: DataChoice, storage: RunStorage, resume: boolean): Promise<LabRun> {
    const spec = dataSpec(settings, choice);
    spec.records = choice.kind === "urls" ? null : await countTrainingRecords(spec);
    const base = await runData(spec, settings.batchSize);
    // Validation is decoded once and replayed: the same images at every evaluation.
    const validation: HostBatch[] = [];
    for await (const batch of base.validation!()) validation.push(batch);
    // A resumed run trains on the painted targets it was saved with (a fresh one has none).
    const painted = resume ? await PaintedTargets.load(storage, IMAGE_SIZE) : new PaintedTargets(IMAGE_SIZE);
    let lab!: LabRun;
    const data: RunData = {
      // A batch is pulled just before the step that trains on it: step + 1.
      epoch: (epoch, batchSize, skip) => withTargets(base.epoch(epoch, batchSize, skip), painted, () => lab.run.position.step + 1),
      stepsPerEpoch: base.stepsPerEpoch,
      validation: async function* () {
        yield* validation;
      },
    };
    const options = {
      config: runConfig(settings),
      data,
      storage,
      describe: { lab: settings, data: { ...spec, train: choice.kind === "embedded" ? "embedded" : choice.kind === "files" ? choice.files.map((f) => f.name) : choice.urls } },
      evaluator: (member: Member, batches: AsyncIterable<Batch>) => lab.#inspect(member, batches),
    };
    const run = resume ? await Run.resume(options) : await Run.start(options);
    lab = new LabRun(run, settings, validation, painted, storage);
    if (resume) return lab;
    // A new run starts with none: no painted targets of an earlier run in the folder can come back.
    try {
      await storage.write(PAINTED_TARGETS_FILE, painted.encode());
    } catch (e) {
      await lab.close();
      throw e;
    }
    return lab;
  }

  async #inspect(member: Member, batches: Parameters<typeof inspectModel>[1]) {
    const inspection = await inspectModel(member.model, batches, { classes: CLASSES, classNames: SYNTH_CLASS_NAMES, gallery: GALLERY_IMAGES });
    this.inspections.set(member.name, inspection);
    return inspection.evaluation;
  }

  /** λ_h, learning rate and batch size for the next steps. */
  set(change: { lambdaH?: number; lr?: number; batchSize?: number }): void {
    if (change.lambdaH !== undefined) this.run.settings.harmonization = this.settings.lambdaH = change.lambdaH;
    if (change.lr !== undefined) {
      this.settings.lr = change.lr;
      this.run.settings.lrScale = change.lr / this.run.config.schedule.base;
    }
    if (change.batchSize !== undefined) this.run.settings.batchSize = this.settings.batchSize = change.batchSize;
  }

  /**
   * Validation image `index` with a painted map [size·size] joins the training batches after the
   * current step, saved in the run folder first: from the next batch on, the last image of every
   * batch is one of the painted ones in turn. Both members train on it (the batches stay the same),
   * only the harmonized one learns from the map. Returns how many targets there are.
   */
  async addTarget(index: number, map: Float32Array): Promise<number> {
    const sample = sliceBatch(this.validation[0], index);
    if (sample.size !== 1 || map.length !== IMAGE_SIZE * IMAGE_SIZE) throw new Error(`painted map: no validation image ${index} of ${IMAGE_SIZE}×${IMAGE_SIZE}`);
    await this.painted.add({ image: sample.images, map: Float32Array.from(map), label: sample.labels[0], addedAfter: this.run.position.step }, this.storage);
    return this.painted.targets.length;
  }

  /** The pyramid of validation image `index` for the harmonized member (one image, eval mode). */
  async pyramid(index: number): Promise<Inspection["pyramid"]> {
    const member = this.run.members.find((m) => m.mode === "harmonized") ?? this.run.members[0];
    const one = sliceBatch(this.validation[0], index);
    const batch = toTensors(one);
    try {
      const inspection = await inspectModel(member.model, [batch], { classes: CLASSES, gallery: 0 });
      return inspection.pyramid && { ...inspection.pyramid, index };
    } finally {
      dispose(batch);
    }
  }

  /** Raw maps of the gallery images for painting: images, human maps and each member's evaluation saliency. */
  async paintImages(): Promise<PaintImages> {
    const host = sliceBatch(this.validation[0], 0, GALLERY_IMAGES);
    const plane = IMAGE_SIZE * IMAGE_SIZE;
    const saliency: Record<string, Float32Array> = {};
    const batch = toTensors(host);
    try {
      for (const member of this.run.members) {
        await evaluate(member.model, [batch], CLASSES, (seen) => {
          saliency[member.name] = Float32Array.from(seen.saliency);
        });
      }
    } finally {
      dispose(batch);
    }
    const images = new Uint8Array(host.size * 3 * plane);
    for (let i = 0; i < host.size; i++) {
      images.set(rgbImage(host.images.subarray(3 * plane * i, 3 * plane * (i + 1)), IMAGE_SIZE, IMAGE_SIZE).data, 3 * plane * i);
    }
    return {
      size: IMAGE_SIZE, count: host.size, images, human: Float32Array.from(host.heatmaps), saliency,
      labels: Array.from(host.labels, (l) => SYNTH_CLASS_NAMES[l]),
    };
  }

  async close(): Promise<void> {
    await this.run.close();
    this.run.dispose();
  }
}

/** The batches with their last image replaced by the painted target of the step each one trains. */
async function* withTargets(batches: AsyncIterable<HostBatch>, painted: PaintedTargets, nextStep: () => number): AsyncGenerator<HostBatch> {
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  for await (const host of batches) {
    const target = painted.forStep(nextStep());
    if (target) {
      const last = host.size - 1;
      host.images.set(target.image, 3 * plane * last);
      host.heatmaps.set(target.map, plane * last);
      host.labels[last] = target.label;
      host.tokens[last] = 1;
    }
    yield host;
  }
}

/** Images [from, from + count) of a host batch. */
function sliceBatch(host: HostBatch, from: number, count = 1): HostBatch {
  const n = Math.max(0, Math.min(count, host.size - from));
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  return {
    size: n,
    images: host.images.slice(3 * plane * from, 3 * plane * (from + n)),
    heatmaps: host.heatmaps.slice(plane * from, plane * (from + n)),
    labels: host.labels.slice(from, from + n),
    tokens: host.tokens.slice(from, from + n),
    imageShape: [n, 3, IMAGE_SIZE, IMAGE_SIZE],
    heatmapShape: [n, IMAGE_SIZE, IMAGE_SIZE],
  };
}
