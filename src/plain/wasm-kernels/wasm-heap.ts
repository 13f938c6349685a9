/**
 * Small helpers for kernels that run inside the tfjs wasm backend.
 *
 * A wasm kernel receives TensorInfos whose data already lives on the wasm
 * heap. It allocates outputs with `backend.makeOutput`, reads and writes them
 * through Float32Array views of the heap, and may call the backend's other
 * kernels directly (the way the backend's own kernels compose) by looking up
 * their registered kernel functions. Views must be taken after the last
 * allocation: any allocation may grow the heap and detach earlier views.
 */
import { getKernel, type DataType, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Allocates a float32 tensor on the wasm heap (contents undefined). */
export function allocate(backend: BackendWasm, shape: number[], dtype: DataType = 'float32'): TensorInfo {
  return backend.makeOutput(shape, dtype);
}

/** A Float32Array view of a float32 tensor on the heap; invalid after the next allocation. */
export function heapView(backend: BackendWasm, info: TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`wasm training kernel: expected a float32 tensor, got ${info.dtype}`);
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** Releases a tensor this kernel allocated (or the backend's reference to it). */
export function release(backend: BackendWasm, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

/** Runs another registered wasm kernel in place, as the backend's own kernels do. */
export function callKernel(backend: BackendWasm, name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo {
  const config = getKernel(name, 'wasm');
  if (config === undefined) throw new Error(`wasm training kernel: the wasm backend has no ${name} kernel`);
  const out = config.kernelFunc({ inputs, attrs, backend });
  if (Array.isArray(out)) throw new Error(`wasm training kernel: ${name} returned ${out.length} outputs, expected one`);
  return out;
}
