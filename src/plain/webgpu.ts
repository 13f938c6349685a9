/**
 * WebGPU in Node through the npm package `webgpu` (Dawn; ships its binary,
 * installs offline). On NVIDIA Linux machines Dawn drives the GPU over
 * Vulkan, so libvulkan1 and the NVIDIA Vulkan ICD must be present.
 *
 * The probe asks for an adapter before anything else touches WebGPU: on a
 * machine without a GPU (or without Vulkan) requestAdapter() resolves to
 * null and the caller falls through to the next backend. Only when an
 * adapter exists are Dawn's globals (GPUBufferUsage, ...) and navigator.gpu
 * installed for @tensorflow/tfjs-backend-webgpu, which looks for them there.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

export type WebGpuProbe = { ok: true; adapter: string } | { ok: false; reason: string };

export interface ProbeOptions {
  /** Ask Dawn even when no Vulkan loader library is found (Linux). */
  skipLibraryCheck?: boolean;
}

let cached: Promise<WebGpuProbe> | undefined;

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/lib'];

/**
 * On Linux Dawn reaches the GPU only through the Vulkan loader. Without
 * libvulkan.so.1 there can be no adapter, and loading Dawn anyway makes it
 * print a warning to stderr from native code; look for the library first.
 */
export function findVulkanLoader(): string | undefined {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d), ...LIB_DIRS];
  for (const d of dirs) {
    const f = path.join(d, 'libvulkan.so.1');
    if (existsSync(f)) return f;
  }
  return undefined;
}

async function probe(o: ProbeOptions): Promise<WebGpuProbe> {
  if (process.platform === 'linux' && !o.skipLibraryCheck && findVulkanLoader() === undefined) {
    return { ok: false, reason: 'no Vulkan loader (libvulkan.so.1; install libvulkan1 and the GPU vendor\'s Vulkan driver)' };
  }
  let dawn: DawnModule;
  try {
    const specifier = 'webgpu';
    dawn = (await import(specifier)) as DawnModule;
  } catch (err) {
    return { ok: false, reason: `package webgpu not loadable: ${(err as Error).message.split('\n')[0]}` };
  }
  let gpu: GpuLike;
  let adapter: GpuAdapterLike | null;
  try {
    gpu = dawn.create([]);
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { ok: false, reason: `Dawn failed: ${(err as Error).message.split('\n')[0]}` };
  }
  if (adapter === null) return { ok: false, reason: 'no WebGPU adapter (no GPU, or no Vulkan driver: libvulkan1 + vendor ICD)' };
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in g)) g[k] = v;
  const nav = (g.navigator ?? {}) as Record<string, unknown>;
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  if (g.navigator === undefined) Object.defineProperty(g, 'navigator', { value: nav, configurable: true, writable: true });
  const i = adapter.info ?? {};
  const name = [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' ') || 'unnamed';
  return { ok: true, adapter: name };
}

/** Probes once per process (Dawn instance creation is not free); options apply to the first call. */
export function probeWebGpu(o: ProbeOptions = {}): Promise<WebGpuProbe> {
  cached ??= probe(o);
  return cached;
}

/** A fresh probe, not cached (tests). */
export function probeWebGpuUncached(o: ProbeOptions = {}): Promise<WebGpuProbe> {
  return probe(o);
}
