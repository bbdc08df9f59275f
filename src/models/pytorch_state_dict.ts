/**
 * State dicts from PyTorch (torchvision's ResNet, timm's ViT) into a model here, to fine-tune:
 * the names already agree (the models register PyTorch's names in PyTorch's order), so this is
 * about what real files hold — F64/F16/BF16 floats (widened or narrowed to f32 by the reader),
 * int64 counters, a `module.` prefix from DataParallel, and parameters-only files without the
 * BatchNorm buffers, which load with a note instead of failing.
 */
import type { HostTensor } from "../io/safetensors.ts";
import type { Module } from "../nn/module.ts";
import type { ModelConfig } from "./mod.ts";

const BATCH_NORM_BUFFERS = /\.(running_mean|running_var|num_batches_tracked)$/;
const LIST_LIMIT = 4;

function listed(names: string[]): string {
  const shown = names.slice(0, LIST_LIMIT).join(", ");
  return names.length > LIST_LIMIT ? `${shown} and ${names.length - LIST_LIMIT} more` : shown;
}

export interface StateDictImport {
  /** One line each, for the user: conversions made and buffers that were missing. */
  notes: string[];
}

/** The tensors with a `module.` prefix (torch.nn.DataParallel's) removed when every name has it. */
function withoutWrapperPrefix(tensors: Map<string, HostTensor>): Map<string, HostTensor> {
  const names = [...tensors.keys()];
  if (names.length === 0 || !names.every((n) => n.startsWith("module."))) return tensors;
  return new Map([...tensors].map(([name, t]) => [name.slice("module.".length), t]));
}

/**
 * Loads a PyTorch state dict; `source` (the file) starts every error and note. Missing
 * parameters, unknown tensors and wrong shapes are one-line errors naming the tensors; missing
 * BatchNorm buffers alone are allowed (running statistics stay at mean 0, variance 1).
 */
export function loadPyTorchStateDict(model: Module, tensors: Map<string, HostTensor>, source: string): StateDictImport {
  const dict = withoutWrapperPrefix(tensors);
  const known = new Set(model.namedState().map(([name]) => name));
  const missing = [...known].filter((name) => !dict.has(name));
  const unexpected = [...dict.keys()].filter((name) => !known.has(name));
  const missingParameters = missing.filter((name) => !BATCH_NORM_BUFFERS.test(name));
  if (missingParameters.length > 0) {
    throw new Error(`${source}: lacks ${missingParameters.length} tensors the model needs (${listed(missingParameters)}); is the model config the file's architecture?`);
  }
  if (unexpected.length > 0) {
    throw new Error(`${source}: holds ${unexpected.length} tensors the model does not have (${listed(unexpected)}); is the model config the file's architecture?`);
  }
  for (const [name, t] of dict) {
    const integer = name.endsWith("num_batches_tracked");
    if (integer !== (t.data instanceof Int32Array)) {
      throw new Error(`${source}: tensor "${name}" is stored as ${t.stored}, but the model keeps it as ${integer ? "an integer" : "a float"}`);
    }
  }
  try {
    model.loadStateDict(dict, { strict: false });
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  const notes: string[] = [];
  const converted = new Map<string, number>();
  for (const t of dict.values()) if (t.stored === "F64" || t.stored === "F16" || t.stored === "BF16") converted.set(t.stored, (converted.get(t.stored) ?? 0) + 1);
  for (const [dtype, count] of converted) notes.push(`${source}: ${count} ${dtype} tensors converted to float32`);
  if (missing.length > 0) {
    notes.push(
      `${source}: parameters only, ${missing.length} BatchNorm buffers absent (${listed(missing)}); ` +
        "running statistics start at mean 0, variance 1 and settle while fine-tuning (evaluate only after some training steps)",
    );
  }
  return { notes };
}

/** How to build the same network in PyTorch, for the user who exports a model. */
export function pytorchCounterpart(config: ModelConfig, classes: number): string {
  if (config.arch === "resnet") {
    const custom = Object.keys(config).some((k) => !["arch", "preset", "classes", "seed"].includes(k));
    return config.preset && !custom
      ? `torchvision.models.${config.preset}(num_classes=${classes})`
      : "a ResNet in torchvision's layout with this config's stages and widths (torchvision's constructor fixes the widths; " +
        "test/golden/roundtrip_golden.py builds one from torchvision's own blocks)";
  }
  const size = config.imageSize !== undefined ? `, img_size=${config.imageSize}` : "";
  return config.preset
    ? `timm.create_model("${config.preset}", num_classes=${classes}${size})`
    : "a timm VisionTransformer with this config's width, depth and heads (timm.models.vision_transformer.VisionTransformer)";
}
