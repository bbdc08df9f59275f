/**
 * Harmonize → PyTorch: exported checkpoints carry exactly the state dict of torchvision's ResNet /
 * timm's ViT (names, shapes, dtypes: int64 num_batches_tracked), and, run live with Debian's
 * python3-torch, load with load_state_dict(strict=True) and give our logits; what PyTorch then
 * saves imports back with the same logits.
 */
import { init } from "../../src/engine.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../../src/io/safetensors.ts";
import { createModel, type ModelConfig } from "../../src/models/mod.ts";
import { tensor } from "../../src/ops/creation.ts";
import { loadModelFile } from "../../src/cli/checkpoint_arg.ts";
import { assert, assertEquals, maxRelativeError, test } from "../harness.ts";
import { type Arch, evalLogits, FIXTURES, GENERATOR, harmonize, readIo, torchAvailable } from "./roundtrip_fixtures.ts";

const REFERENCES: [string, ModelConfig][] = [
  ["torchvision.resnet18", { arch: "resnet", preset: "resnet18", classes: 4 }],
  ["timm.vit_tiny_patch16_224", { arch: "vit", preset: "vit_tiny_patch16_224", classes: 4 }],
];

for (const [reference, config] of REFERENCES) {
  test(`roundtrip: an exported ${config.preset} has the names, shapes and dtypes of ${reference}'s state dict`, async () => {
    await init();
    const expected = JSON.parse((await readIo()).metadata[reference]) as [string, number[], string][];
    const model = createModel(config);
    try {
      // What export writes: hostStateDict's entries, floats as F32 and integer buffers as I64.
      const ours = model.namedState().map(([name, p]) => [name, [...p.value.shape], p.value.dtype === "int32" ? "I64" : "F32"]);
      assertEquals(ours, expected);
    } finally {
      model.dispose();
    }
  });
}

const live = await torchAvailable();

for (const arch of ["resnet_tiny", "vit_tiny"] as Arch[]) {
  Deno.test({
    name: `roundtrip: a run's checkpoint exported for PyTorch (${arch}) loads strictly there with the same logits, and comes back`,
    ignore: !live,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await init();
      const io = await readIo();
      const config = { ...JSON.parse(io.metadata[`${arch}.config`]), seed: 7 };
      const dir = await Deno.makeTempDir();
      const model = createModel(config);
      try {
        // One training-mode forward moves the BatchNorm running statistics off their defaults.
        const x = io.tensors.get("input.x")!;
        const input = tensor(x.data, x.shape);
        model.forward(input).dispose();
        input.dispose();
        const ours = await evalLogits(model, io);
        const step = `${dir}/run/checkpoints/harmonized/step-000003`;
        await Deno.mkdir(step, { recursive: true });
        await writeSafetensorsFile(`${step}/model.safetensors`, await model.hostStateDict(), { config: JSON.stringify(config), step: "3", member: "harmonized" });
        await Deno.writeTextFile(`${dir}/run/checkpoints/harmonized/latest`, JSON.stringify({ dir: "step-000003", step: 3 }));

        const exported = await harmonize("export", `${dir}/run`, "--out", `${dir}/torch.safetensors`);
        assertEquals(exported.code, 0, exported.stderr.join("\n"));
        assert(exported.stdout[0].startsWith(`wrote ${dir}/torch.safetensors: `) && exported.stdout[0].endsWith(`from ${step}/model.safetensors`), exported.stdout[0]);
        const python = await new Deno.Command("/usr/bin/python3", {
          args: [GENERATOR, "check", arch, `${dir}/torch.safetensors`, `${FIXTURES}io.safetensors`, `${dir}/logits.safetensors`, `${dir}/resaved.safetensors`],
        }).output();
        assert(python.success, new TextDecoder().decode(python.stderr));
        const theirs = (await readSafetensorsFile(`${dir}/logits.safetensors`)).tensors.get("logits")!.data;
        const error = maxRelativeError(ours, theirs);
        assert(error < 1e-4, `PyTorch's logits differ from ours by ${error}`);

        await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(config));
        const imported = await harmonize("import", `${dir}/resaved.safetensors`, "--model", `${dir}/model.json`, "--out", `${dir}/back.safetensors`);
        assertEquals([imported.code, imported.stderr], [0, []]);
        const back = await loadModelFile(`${dir}/back.safetensors`);
        try {
          const again = maxRelativeError(await evalLogits(back.model, io), theirs);
          assert(again < 1e-4, `after the way back, logits differ from PyTorch's by ${again}`);
        } finally {
          back.model.dispose();
        }
      } finally {
        model.dispose();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
