/**
 * The wasm backend's own kernels that ours replace but still delegate to for
 * the cases they handle well. Captured before replacement; a replacement's
 * setupFunc must run the shipped setup (which binds its wasm function),
 * because a kernel no longer registered when the backend initialises is
 * never set up by tfjs.
 */
import { getKernel, type KernelConfig, type KernelSetupFunc } from '@tensorflow/tfjs-core';

const shipped = new Map<string, KernelConfig>();

/** Records the currently registered wasm kernel `name` unless it is `ours`. */
export function captureShipped(name: string, ours: KernelConfig): void {
  const current = getKernel(name, 'wasm');
  if (current !== undefined && current !== ours) shipped.set(name, current);
}

export function shippedKernel(name: string): KernelConfig {
  const k = shipped.get(name);
  if (k === undefined) throw new Error(`wasm ${name}: the shipped kernel was not captured before replacement`);
  return k;
}

/** A setupFunc that sets up the shipped kernel `name`. */
export function setupShipped(name: string): KernelSetupFunc {
  return (backend) => shipped.get(name)?.setupFunc?.(backend);
}
