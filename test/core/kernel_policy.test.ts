import { Backend } from "../../src/backend/backend.ts";
import { resolveKernelPolicy } from "../../src/backend/kernel_policy.ts";
import { adapterKind } from "../../src/backend/webgpu.ts";
import { init, KERNEL_FALLBACKS } from "../../src/mod.ts";
import { assertEquals, assertThrows, runtime, test } from "../harness.ts";

test("adapters are classified from their info: lavapipe, SwiftShader, other fallbacks, GPUs", () => {
  const info = (vendor: string, architecture: string, description: string) => ({ vendor, architecture, device: "", description });
  assertEquals(adapterKind(info("65541", "", "llvmpipe (LLVM 15.0.6, 256 bits)"), true), "lavapipe");
  assertEquals(adapterKind(info("google", "swiftshader", ""), true), "swiftshader");
  assertEquals(adapterKind(info("acme", "", "a software rasteriser"), true), "software");
  assertEquals(adapterKind(info("nvidia", "hopper", "NVIDIA H200"), false), "gpu");
});

test("the policy: textures on CPU adapters, buffer kernels on GPUs, the loop limit only on lavapipe", () => {
  assertEquals(resolveKernelPolicy("lavapipe"), {
    variants: { matmul: "textures", conv: "textures", attention: "fused", attentionDoubleBackward: "fused", batchNorm: "fused", reluFusion: "fused", optimizer: "fused", cotangentSum: "addN" },
    fallbacks: KERNEL_FALLBACKS,
    loopLimit: 65535,
  });
  assertEquals(resolveKernelPolicy("swiftshader").variants, { matmul: "textures", conv: "textures", attention: "fused", attentionDoubleBackward: "fused", batchNorm: "fused", reluFusion: "fused", optimizer: "fused", cotangentSum: "addN" });
  assertEquals(resolveKernelPolicy("swiftshader").loopLimit, null);
  assertEquals(resolveKernelPolicy("gpu"), {
    variants: { matmul: "shared", conv: "buffers", attention: "fused", attentionDoubleBackward: "fused", batchNorm: "fused", reluFusion: "fused", optimizer: "fused", cotangentSum: "addN" },
    fallbacks: KERNEL_FALLBACKS,
    loopLimit: null,
  });
  assertEquals(resolveKernelPolicy("gpu", { matmul: "registers", attention: "composed" }).variants, {
    matmul: "registers",
    conv: "buffers",
    attention: "composed",
    attentionDoubleBackward: "fused",
    batchNorm: "fused",
    reluFusion: "fused",
    optimizer: "fused",
    cotangentSum: "addN",
  });
  assertThrows(() => resolveKernelPolicy("gpu", { conv: "shared" as never }), /^kernels\.conv: "shared" is not a variant of conv \("textures", "buffers"\)$/);
  assertThrows(() => resolveKernelPolicy("gpu", { pool: "x" } as never), /^kernels: unknown op "pool"/);
});

test("this adapter reports its kind and kernels; setKernelVariant is the one way to change them", async () => {
  const backend = await init();
  assertEquals(backend.adapter.kind, runtime === "deno" ? "lavapipe" : "swiftshader");
  assertEquals(backend.kernels, backend.adapter.kernels);
  const previous = backend.kernels.variants.matmul;
  try {
    backend.setKernelVariant("matmul", "registers");
    assertEquals(backend.adapter.kernels.variants.matmul, "registers");
    assertThrows(() => backend.setKernelVariant("matmul", "buffers" as never), /^kernels\.matmul: "buffers" is not a variant of matmul/);
  } finally {
    backend.setKernelVariant("matmul", previous);
  }
});

test("a device passed in by the caller is classified from its adapter info, not taken for a GPU", async () => {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter!.requestDevice();
  const shared = await Backend.create({ device });
  try {
    const own = (await init()).adapter;
    assertEquals([shared.adapter.kind, shared.adapter.isFallbackAdapter], [own.kind, own.isFallbackAdapter]);
    assertEquals(shared.kernels.variants, own.kernels.variants);
  } finally {
    shared.destroy();
  }
});
