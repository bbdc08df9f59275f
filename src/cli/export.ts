// `harmonize export CKPT --out FILE`: a checkpoint as a plain PyTorch state dict in safetensors,
// for load_state_dict(strict=True) into torchvision's ResNet or timm's ViT (docs/cli.md).

import { init } from "../engine.ts";
import { type HostTensor, type StoredDType, writeSafetensorsFile } from "../io/safetensors.ts";
import { pytorchCounterpart } from "../models/pytorch_state_dict.ts";
import { loadModelFile, resolveCheckpoint } from "./checkpoint_arg.ts";
import { checkFlags, type Command, parseArgs, stringFlag, UsageError } from "./command.ts";

const USAGE = `usage: harmonize export CKPT --out FILE.safetensors [--member NAME] [--dtype f32|f16|bf16]

Writes the model of a checkpoint as a PyTorch state dict: torchvision's ResNet names or timm's ViT
names, the BatchNorm buffers included (num_batches_tracked as int64), floats as --dtype (default
f32). In PyTorch: model.load_state_dict(safetensors.torch.load_file(FILE), strict=True).

  CKPT           a model.safetensors file with "config" metadata, a checkpoint folder,
                 RUN/checkpoints/<member>, or a run folder (with --member when it has several)
  --out FILE     the state dict to write
  --dtype D      f32 (default), f16 or bf16 for the floating-point tensors`;

const DTYPES: Record<string, StoredDType> = { f32: "F32", f16: "F16", bf16: "BF16" };

export const exportCommand: Command = {
  summary: "write a checkpoint as a PyTorch state dict (torchvision ResNet / timm ViT names) in safetensors",
  usage: USAGE,
  async run(args) {
    const parsed = parseArgs(args);
    checkFlags(parsed, ["out", "member", "dtype"]);
    if (parsed.positional.length !== 1) throw new UsageError(`give exactly one CKPT, got ${parsed.positional.length}`);
    const out = stringFlag(parsed, "out");
    if (!out) throw new UsageError("--out FILE.safetensors is required");
    const dtypeName = stringFlag(parsed, "dtype", "f32")!;
    const dtype = DTYPES[dtypeName];
    if (!dtype) throw new UsageError(`--dtype must be one of ${Object.keys(DTYPES).join(", ")}, got ${dtypeName}`);
    const checkpoint = await resolveCheckpoint(parsed.positional[0], stringFlag(parsed, "member"));
    await init();
    const { model, config, file, notes } = await loadModelFile(checkpoint.weights);
    try {
      for (const note of notes) console.error(`note: ${note}`);
      const tensors = new Map<string, HostTensor>();
      for (const [name, t] of await model.hostStateDict()) tensors.set(name, t.data instanceof Int32Array ? t : { ...t, stored: dtype });
      await writeSafetensorsFile(out, tensors, { ...file.metadata, config: JSON.stringify(config), format: "pt" });
      console.log(`wrote ${out}: ${tensors.size} tensors (${model.namedBuffers().length} of them buffers) from ${checkpoint.weights}`);
      console.log(`in PyTorch: model = ${pytorchCounterpart(config, model.config.classes)}`);
      console.log(`            model.load_state_dict(safetensors.torch.load_file("${out}"), strict=True)`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
