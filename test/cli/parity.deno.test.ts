/** `harmonize parity` end to end on files: config JSON, weights and batch safetensors in, results out. */
import { parityCommand } from "../../src/cli/parity.ts";
import { readSafetensorsFile, writeSafetensorsFile, type HostTensor } from "../../src/io/safetensors.ts";
import { assert, assertEquals, assertRejects, maxRelativeError, test } from "../harness.ts";

const FIXTURE = new URL("../fixtures/parity/resnet_tiny_tokens10.safetensors", import.meta.url);

function withPrefix(tensors: Map<string, HostTensor>, prefix: string): Map<string, HostTensor> {
  return new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

test("cli: harmonize parity writes every quantity, matching PyTorch", async () => {
  const { tensors, metadata } = await readSafetensorsFile(FIXTURE);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/model.json`, metadata.config);
    await writeSafetensorsFile(`${dir}/weights.safetensors`, withPrefix(tensors, "state."));
    await writeSafetensorsFile(`${dir}/batch.safetensors`, withPrefix(tensors, "batch."));
    const code = await parityCommand.run([
      "--model", `${dir}/model.json`, "--weights", `${dir}/weights.safetensors`,
      "--batch", `${dir}/batch.safetensors`, "--out", `${dir}/result.safetensors`,
    ]);
    assertEquals(code, 0);
    const result = (await readSafetensorsFile(`${dir}/result.safetensors`)).tensors;
    for (const key of ["loss_total", "loss_cce", "loss_harmonization", "loss_weight_l2", "logits", "saliency", "sa", "grad.conv1.weight", "grad_harm.fc.bias"]) {
      const expected = tensors.get(key)!;
      const actual = result.get(key);
      assert(actual, `result has ${key}`);
      assert(maxRelativeError(actual.data, expected.data) < 1e-3, `${key} matches PyTorch`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("cli: harmonize parity names the missing batch tensor", async () => {
  const { tensors, metadata } = await readSafetensorsFile(FIXTURE);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/model.json`, metadata.config);
    await writeSafetensorsFile(`${dir}/weights.safetensors`, withPrefix(tensors, "state."));
    const batch = withPrefix(tensors, "batch.");
    batch.delete("tokens");
    await writeSafetensorsFile(`${dir}/batch.safetensors`, batch);
    await assertRejects(
      () => parityCommand.run(["--model", `${dir}/model.json`, "--weights", `${dir}/weights.safetensors`, "--batch", `${dir}/batch.safetensors`, "--out", `${dir}/r.safetensors`]),
      /batch\.safetensors: missing tensor "tokens"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
