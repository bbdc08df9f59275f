/** Finding an adapter and opening a device with the limits large models need, in Deno and browsers. */
import type { AdapterKind, KernelPolicy } from "./kernel_policy.ts";

export interface DeviceOptions {
  /** Passed to requestAdapter. */
  powerPreference?: GPUPowerPreference;
  /** Use a device you already opened (e.g. shared with a renderer); it is classified from its adapter info. */
  device?: GPUDevice;
}

export interface AdapterReport {
  description: string;
  vendor: string;
  architecture: string;
  isFallbackAdapter: boolean;
  /** A GPU, or which CPU implementation runs the kernels. */
  kind: AdapterKind;
  limits: Record<string, number>;
  /** The kernel each op runs here (see kernel_policy.ts). */
  kernels: KernelPolicy;
}

/** An opened device's adapter, before the backend picks its kernels. */
export type OpenedAdapter = Omit<AdapterReport, "kernels">;

/** The limits Harmonize raises to whatever the adapter offers. */
const WANTED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxTextureDimension2D",
  "maxTextureArrayLayers",
] as const;

export function noWebGPUMessage(): string {
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  return isDeno
    ? "no WebGPU adapter found. On headless Linux install a Vulkan driver: `apt-get install mesa-vulkan-drivers` " +
      "(Mesa lavapipe runs WebGPU on the CPU); Deno ≥ 2 exposes navigator.gpu without flags."
    : "no WebGPU adapter found. Use Chrome/Edge ≥ 113 or Firefox ≥ 141 over https:// or http://127.0.0.1 " +
      "(a secure context); on Linux start Chromium with --enable-unsafe-webgpu (and --enable-features=Vulkan).";
}

export async function openDevice(options: DeviceOptions = {}): Promise<{ device: GPUDevice; adapter: OpenedAdapter }> {
  if (options.device) {
    const info = options.device.adapterInfo;
    return { device: options.device, adapter: describe(info, (info as { isFallbackAdapter?: boolean }).isFallbackAdapter, options.device.limits) };
  }
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new Error(`navigator.gpu is missing: ${noWebGPUMessage()}`);
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  if (!adapter) throw new Error(noWebGPUMessage());
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof value === "number") requiredLimits[name] = value;
  }
  // Timestamps let a profile time each dispatch (src/profile.ts); they cost nothing otherwise.
  const requiredFeatures: GPUFeatureName[] = adapter.features.has("timestamp-query") ? ["timestamp-query"] : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  // Newer spec: isFallbackAdapter on GPUAdapterInfo; older: on GPUAdapter.
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return { device, adapter: describe(info, fallback, device.limits) };
}

/** Mesa's llvmpipe (Vulkan: lavapipe) and Google's SwiftShader run WebGPU on the CPU; they name themselves in the adapter info. */
export function adapterKind(info: Partial<GPUAdapterInfo>, isFallbackAdapter: boolean): AdapterKind {
  const text = [info.vendor, info.architecture, info.device, info.description].join(" ").toLowerCase();
  if (/llvmpipe|lavapipe/.test(text)) return "lavapipe";
  if (text.includes("swiftshader")) return "swiftshader";
  return isFallbackAdapter ? "software" : "gpu";
}

function describe(info: GPUAdapterInfo, reportedFallback: boolean | undefined, limits: GPUSupportedLimits): OpenedAdapter {
  const report: Record<string, number> = {};
  for (const name of WANTED_LIMITS) report[name] = (limits as unknown as Record<string, number>)[name];
  const kind = adapterKind(info, reportedFallback ?? false);
  const isFallbackAdapter = reportedFallback ?? kind !== "gpu";
  return {
    // Chromium leaves description empty (e.g. SwiftShader reports only vendor and architecture).
    description: info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") || "unknown adapter",
    vendor: info.vendor,
    architecture: info.architecture,
    isFallbackAdapter,
    kind,
    limits: report,
  };
}
