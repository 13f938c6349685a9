/**
 * Identity for the tfjs wasm backend without a copy. Tensors are immutable
 * (variables take new data by reference), so sharing the data with a new
 * reference is enough - as Reshape does here and Identity does on the cpu
 * and webgl backends. The shipped kernel copies: 42 full-size copies per
 * step of the seed CNN, ~15 ms.
 */
import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

function identity(args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo {
  const { inputs: { x }, backend } = args;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export const identityWasm: KernelConfig = { kernelName: Identity, backendName: 'wasm', kernelFunc: identity as unknown as KernelFunc };
