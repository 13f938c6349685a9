/**
 * BatchMatMul with transposed operands for the tfjs wasm backend. The
 * shipped kernel takes a slow path when asked to transpose (measured 13 ms
 * for [128,10] x [6272,10]^T, the dense layer's input gradient, and 9 ms
 * for [128,6272]^T x [128,10], its weight gradient); transposing the
 * operand first with the Transpose kernel and multiplying plainly takes 2-5.
 * Untransposed products go straight to the shipped kernel.
 */
import { BatchMatMul, type BatchMatMulAttrs, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { setupShipped, shippedKernel } from './shipped.js';
import { callKernel, release } from './wasm-heap.js';

function swapLast(backend: BackendWasm, t: TensorInfo): TensorInfo {
  const rank = t.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return callKernel(backend, 'Transpose', { x: t }, { perm });
}

function batchMatMul(args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: BackendWasm; attrs: BatchMatMulAttrs }): TensorInfo {
  const { inputs: { a, b }, backend, attrs } = args;
  const plain = shippedKernel(BatchMatMul).kernelFunc;
  if ((!attrs.transposeA && !attrs.transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return plain(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  }
  const at = attrs.transposeA ? swapLast(backend, a) : a;
  const bt = attrs.transposeB ? swapLast(backend, b) : b;
  const out = plain({ inputs: { a: at, b: bt }, backend, attrs: { transposeA: false, transposeB: false } as unknown as NamedAttrMap }) as TensorInfo;
  if (at !== a) release(backend, at);
  if (bt !== b) release(backend, bt);
  return out;
}

export const batchMatMulWasm: KernelConfig = {
  kernelName: BatchMatMul, backendName: 'wasm', kernelFunc: batchMatMul as unknown as KernelFunc, setupFunc: setupShipped(BatchMatMul),
};
