/**
 * The parity computation against PyTorch float64 (test/golden/parity_golden.py): a tiny ResNet
 * with BatchNorm in training mode and a tiny ViT, tokens [1, 1] and [1, 0]. Every output —
 * logits, saliency, each loss part, and the gradients of the total loss and of the harmonization
 * term w.r.t. every parameter — within 1e-3 relative error in float32.
 */
import * as h from "../../src/mod.ts";
import { decodeSafetensors, type HostTensor } from "../../src/io/safetensors.ts";
import { createModel } from "../../src/models/mod.ts";
import { parity, uploadBatch } from "../../src/harmonize/parity.ts";
import { assert, maxRelativeError, readRepoFile, test } from "../harness.ts";

function withPrefix(tensors: Map<string, HostTensor>, prefix: string): Map<string, HostTensor> {
  return new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

for (const name of ["resnet_tiny_tokens11", "resnet_tiny_tokens10", "vit_tiny_tokens11", "vit_tiny_tokens10"]) {
  test(`parity of the harmonizer loss and its gradients with PyTorch float64: ${name}`, async () => {
    await h.init();
    const path = `test/fixtures/parity/${name}.safetensors`;
    const { tensors, metadata } = decodeSafetensors(await readRepoFile(path), path);
    const config = JSON.parse(metadata.config);
    const model = createModel(config);
    model.loadStateDict(withPrefix(tensors, "state."));
    const batch = uploadBatch(withPrefix(tensors, "batch."), path);
    const result = await parity(model, batch, { classes: config.classes });
    const failures: string[] = [];
    let compared = 0;
    for (const [key, expected] of tensors) {
      if (key.startsWith("state.") || key.startsWith("batch.")) continue;
      const actual = result.get(key);
      if (!actual) {
        failures.push(`${key}: missing from the parity output`);
        continue;
      }
      const error = maxRelativeError(actual.data, expected.data);
      if (!(error < 1e-3)) failures.push(`${key}: relative error ${error.toExponential(2)}`);
      compared++;
    }
    h.dispose(batch);
    model.dispose();
    assert(failures.length === 0, `${name}: ${failures.join("; ")}`);
    assert(compared > 20, `compared ${compared} outputs`);
  });
}
