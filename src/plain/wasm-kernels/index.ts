/**
 * Training kernels for the tfjs wasm backend: the missing
 * Conv2DBackpropFilter (tfjs issue 8474) and faster replacements for shipped
 * kernels that dominated a training step (each file says what it measured).
 * All are checked against the cpu backend in test/plain-wasm-kernels.test.ts.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { avgPoolGradWasm } from './avg-pool-grad.js';
import { batchMatMulWasm } from './batch-mat-mul.js';
import { conv2DBackpropFilterWasm } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputWasm } from './conv2d-backprop-input.js';
import { fusedBatchNormWasm } from './fused-batch-norm.js';
import { identityWasm } from './identity.js';
import { meanWasm, sumWasm } from './reduce.js';
import { captureShipped } from './shipped.js';
import { tileWasm } from './tile.js';

export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterWasm, conv2DBackpropInputWasm, avgPoolGradWasm, tileWasm, sumWasm, meanWasm, batchMatMulWasm, identityWasm,
  fusedBatchNormWasm,
];

/** Idempotent: replaces whatever the wasm backend registered under these names. */
export function registerWasmTrainingKernels(): void {
  for (const config of WASM_TRAINING_KERNELS) {
    captureShipped(config.kernelName, config);
    const current = getKernel(config.kernelName, 'wasm');
    if (current === config) continue;
    if (current !== undefined) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
}
