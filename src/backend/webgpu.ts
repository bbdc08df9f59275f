/** Finding an adapter and opening a device with the limits large models need, in Deno and browsers. */

export interface DeviceOptions {
  /** Passed to requestAdapter. */
  powerPreference?: GPUPowerPreference;
  /** Use an adapter you already opened (e.g. shared with a renderer). */
  device?: GPUDevice;
}

export interface AdapterReport {
  description: string;
  vendor: string;
  architecture: string;
  isFallbackAdapter: boolean;
  limits: Record<string, number>;
}

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

export async function openDevice(options: DeviceOptions = {}): Promise<{ device: GPUDevice; adapter: AdapterReport }> {
  if (options.device) {
    return { device: options.device, adapter: describe(options.device.adapterInfo, false, options.device.limits) };
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
  return { device, adapter: describe(info, (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false, device.limits) };
}

function describe(info: GPUAdapterInfo, isFallbackAdapter: boolean, limits: GPUSupportedLimits): AdapterReport {
  const report: Record<string, number> = {};
  for (const name of WANTED_LIMITS) report[name] = (limits as unknown as Record<string, number>)[name];
  return {
    // Chromium leaves description empty (e.g. SwiftShader reports only vendor and architecture).
    description: info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") || "unknown adapter",
    vendor: info.vendor,
    architecture: info.architecture,
    isFallbackAdapter,
    limits: report,
  };
}
