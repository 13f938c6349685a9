/**
 * FusedBatchNorm (inference form: y = (x - mean) * scale / sqrt(var + eps)
 * + offset, per channel) for the tfjs wasm backend, replacing the shipped
 * one (measured 21 ms on [128,28,28,32]; this is a per-channel
 * multiply-add, ~4 ms). Parameters of any other shape than one value or one
 * per channel go to the shipped kernel.
 */
import { FusedBatchNorm, type FusedBatchNormAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { setupShipped, shippedKernel } from './shipped.js';
import { heapView } from './wasm-heap.js';

interface Inputs { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo }

function size(t: TensorInfo): number {
  return t.shape.reduce((a, b) => a * b, 1);
}

function fusedBatchNorm(args: { inputs: Inputs; backend: BackendWasm; attrs: FusedBatchNormAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, mean, variance, offset, scale } = inputs;
  const c = x.shape[x.shape.length - 1] ?? 1;
  const params = [mean, variance, offset, scale].filter((t): t is TensorInfo => t !== undefined);
  if (x.dtype !== 'float32' || params.some((t) => t.dtype !== 'float32' || (size(t) !== c && size(t) !== 1))) {
    return shippedKernel(FusedBatchNorm).kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  }
  const out = backend.makeOutput(x.shape, 'float32');
  const at = (t: TensorInfo | undefined, fallback: number): Float64Array => {
    const v = t === undefined ? undefined : heapView(backend, t);
    return Float64Array.from({ length: c }, (_, i) => (v === undefined ? fallback : v.length === 1 ? v[0]! : v[i]!));
  };
  const m = at(mean, 0);
  const v = at(variance, 1);
  const o = at(offset, 0);
  const g = at(scale, 1);
  const mul = new Float32Array(c);
  const add = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    mul[i] = g[i]! / Math.sqrt(v[i]! + attrs.varianceEpsilon);
    add[i] = o[i]! - m[i]! * mul[i]!;
  }
  const src = heapView(backend, x);
  const dst = heapView(backend, out);
  const n = src.length;
  for (let i = 0; i < n; i += c) {
    for (let k = 0; k < c; k++) dst[i + k] = src[i + k]! * mul[k]! + add[k]!;
  }
  return out;
}

export const fusedBatchNormWasm: KernelConfig = {
  kernelName: FusedBatchNorm, backendName: 'wasm', kernelFunc: fusedBatchNorm as unknown as KernelFunc, setupFunc: setupShipped(FusedBatchNorm),
};
