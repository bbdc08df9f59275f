/**
 * The fused double backward of attention (attentionDoubleBackward) leaves the harmonizer loss where
 * the composed one had it: logits, saliency, every loss part and every gradient of the tiny ViT of
 * the PyTorch parity fixture agree within 1e-5 relative error under either kernel-policy variant.
 */
import * as h from "../../src/mod.ts";
import { engine } from "../../src/engine.ts";
import type { AttentionDoubleBackwardVariant } from "../../src/backend/kernel_policy.ts";
import { decodeSafetensors, type HostTensor } from "../../src/io/safetensors.ts";
import { createModel, type ModelConfig } from "../../src/models/mod.ts";
import { parity, uploadBatch } from "../../src/harmonize/parity.ts";
import { assert, maxRelativeError, readRepoFile, test } from "../harness.ts";

const TOLERANCE = 1e-5;

test("the fused attention double backward keeps the tiny ViT's harmonizer loss and its gradients within 1e-5", async () => {
  await h.init();
  const path = "test/fixtures/parity/vit_tiny_tokens10.safetensors";
  const { tensors, metadata } = decodeSafetensors(await readRepoFile(path), path);
  const config = JSON.parse(metadata.config) as ModelConfig;
  const pick = (prefix: string) => new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const batch = uploadBatch(pick("batch."), path);
  const previous = engine.backend.kernels.variants.attentionDoubleBackward;
  const run = async (variant: AttentionDoubleBackwardVariant): Promise<{ values: Map<string, HostTensor>; fused: boolean }> => {
    engine.backend.setKernelVariant("attentionDoubleBackward", variant);
    const model = createModel(config);
    model.loadStateDict(pick("state."));
    let fused = false;
    engine.recorders.push({ maybeRecord: ({ primitive }) => void (fused ||= primitive === "attentionDoubleBackward") });
    try {
      return { values: await parity(model, batch, { classes: (config as { classes: number }).classes }), fused };
    } finally {
      engine.recorders.pop();
      model.dispose();
    }
  };
  try {
    const composed = await run("composed");
    const fused = await run("fused");
    assert(!composed.fused && fused.fused, `attentionDoubleBackward ran: composed ${composed.fused}, fused ${fused.fused}`);
    const failures: string[] = [];
    for (const [key, expected] of composed.values) {
      const actual = fused.values.get(key);
      const error = actual ? maxRelativeError(actual.data, expected.data) : Infinity;
      if (!(error <= TOLERANCE)) failures.push(`${key}: relative error ${error.toExponential(2)}`);
    }
    assert(composed.values.size > 20 && fused.values.size === composed.values.size, `compared ${composed.values.size} outputs`);
    assert(failures.length === 0, failures.join("; "));
  } finally {
    engine.backend.setKernelVariant("attentionDoubleBackward", previous);
    h.dispose(batch);
  }
});
