/**
 * tfjs backend selection at start-up: the best available first.
 *
 *   tfjs-node-gpu (CUDA)  ->  tfjs-node  ->  webgpu (Dawn)  ->  wasm  ->  cpu
 *
 * tfjs-node(-gpu) are optional dependencies whose installers download
 * libtensorflow, so on an offline machine they are absent (or present without
 * their native library) and are skipped with the reason. webgpu needs a GPU
 * adapter: without one `requestAdapter()` resolves to null and it is skipped.
 * wasm always works; it gets the training kernels it lacks (wasm-kernels/).
 * cpu is last: 40-250x slower for training here.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node entry registers no gradients; the tfjs-layers bundle
// registers all of them (in tfjs' shared global registry) when loaded.
import '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { registerWasmTrainingKernels } from './wasm-kernels/index.js';
import { probeWebGpu } from './webgpu.js';

export const BACKEND_NAMES = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendChoice {
  /** What was chosen. */
  name: BackendName;
  /** The tfjs backend name now active (tensorflow, webgpu, wasm, cpu). */
  tfBackend: string;
  /** One line about the device. */
  detail: string;
  /** Better candidates that were tried and skipped, with why. */
  skipped: { name: BackendName; reason: string }[];
}

const require = createRequire(import.meta.url);

/** Loads a package that may not be installed; the specifier is a variable so the compiler does not require it. */
async function importOptional(specifier: string): Promise<unknown> {
  return import(specifier);
}

function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') {
    const msg = e.message ?? '';
    if (/tfjs_binding|napi|libtensorflow|\.node\b/.test(msg)) return `native library missing (${msg.split('\n')[0]})`;
    return 'not installed (optional dependency; see src/plain/README.md)';
  }
  return (e.message ?? String(err)).split('\n')[0]!;
}

async function activate(name: string): Promise<void> {
  // Production mode: no debug-only checks, and no console advert for
  // tfjs-node on the first cpu-backend tensor.
  tf.enableProdMode();
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`tfjs could not initialise backend ${name} (active: ${tf.getBackend()})`);
}

/**
 * tfjs-node(-gpu) without its native binding (install script not run, e.g.
 * npm ci --ignore-scripts) fails on import only after registering its
 * kernels, which makes the next attempt print a warning per kernel; look
 * for the binding first.
 */
function checkNativeBinding(pkg: string): void {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw Object.assign(new Error(`${pkg} not installed`), { code: 'MODULE_NOT_FOUND' });
  }
  const lib = path.join(dir, 'lib');
  const found = existsSync(lib) && readdirSync(lib).some((d) => d.startsWith('napi-v') && existsSync(path.join(lib, d, 'tfjs_binding.node')));
  if (!found) throw new Error(`native library missing: ${lib}/napi-v*/tfjs_binding.node (its install script, which downloads libtensorflow, did not run; see src/plain/README.md)`);
}

async function tryTfjsNode(which: 'tfjs-node-gpu' | 'tfjs-node'): Promise<string> {
  // Both packages register the backend 'tensorflow'; if tfjs-node-gpu loaded
  // but found no CUDA device, its CPU build serves as tfjs-node.
  if (which === 'tfjs-node-gpu' || tf.findBackendFactory('tensorflow') === null) {
    checkNativeBinding(`@tensorflow/${which}`);
    await importOptional(`@tensorflow/${which}`);
  }
  await activate('tensorflow');
  const usingGpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
  if (which === 'tfjs-node-gpu' && !usingGpu) throw new Error('loaded, but TensorFlow found no CUDA device');
  return usingGpu ? 'TensorFlow C library, CUDA GPU' : 'TensorFlow C library, CPU';
}

async function tryWebGpu(): Promise<string> {
  const probe = await probeWebGpu();
  if (!probe.ok) throw new Error(probe.reason);
  await importOptional('@tensorflow/tfjs-backend-webgpu');
  await activate('webgpu');
  return `WebGPU adapter ${probe.adapter}`;
}

let wasmReady = false;

async function tryWasm(): Promise<string> {
  if (!wasmReady) {
    const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    setWasmPaths(path.dirname(wasmFile) + path.sep);
    registerWasmTrainingKernels();
    wasmReady = true;
  }
  await activate('wasm');
  return 'tfjs-backend-wasm (XNNPACK, SIMD), one thread per process';
}

async function tryCpu(): Promise<string> {
  await activate('cpu');
  return 'tfjs-backend-cpu (plain JavaScript)';
}

const TRY: Record<BackendName, () => Promise<string>> = {
  'tfjs-node-gpu': () => tryTfjsNode('tfjs-node-gpu'),
  'tfjs-node': () => tryTfjsNode('tfjs-node'),
  webgpu: tryWebGpu,
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Activates `prefer` (failing with its reason if it cannot start), or with
 * 'auto' the first backend that starts, in the order above.
 */
export async function selectBackend(prefer: BackendName | 'auto' = 'auto'): Promise<BackendChoice> {
  if (prefer !== 'auto') {
    try {
      const detail = await TRY[prefer]();
      return { name: prefer, tfBackend: tf.getBackend(), detail, skipped: [] };
    } catch (err) {
      throw new Error(`backend ${prefer} is not available: ${reasonOf(err)}`);
    }
  }
  const skipped: BackendChoice['skipped'] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const detail = await TRY[name]();
      return { name, tfBackend: tf.getBackend(), detail, skipped };
    } catch (err) {
      skipped.push({ name, reason: reasonOf(err) });
    }
  }
  throw new Error(`no tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** One line for logs: `wasm (tfjs-backend-wasm ...; skipped tfjs-node-gpu: not installed, ...)`. */
export function describeBackend(c: BackendChoice): string {
  const skipped = c.skipped.length ? `; skipped ${c.skipped.map((s) => `${s.name}: ${s.reason}`).join(', ')}` : '';
  return `${c.name} (${c.detail}${skipped})`;
}
