/**
 * Tile for the tfjs wasm backend, replacing the shipped one. The shipped
 * kernel walks the output one element at a time with index arithmetic
 * (measured 370 ms for a [1,1,1,32] -> [128,28,28,32] tile, the broadcast in
 * the batch-norm gradient). This one copies x into place once and then
 * doubles blocks with copyWithin (memmove), innermost axis first.
 */
import { Tile, type KernelConfig, type KernelFunc, type TensorInfo, type TileAttrs } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Numeric = Float32Array | Int32Array | Uint8Array;

/** Tiles x (shape) by reps into out (row-major). Exported for tests. */
export function tileInto(x: Numeric, shape: readonly number[], reps: readonly number[], out: Numeric): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = x[0]!;
    return;
  }
  const outShape = shape.map((s, i) => s * reps[i]!);
  const inStride = new Array<number>(rank);
  const outStride = new Array<number>(rank);
  inStride[rank - 1] = 1;
  outStride[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) {
    inStride[i] = inStride[i + 1]! * shape[i + 1]!;
    outStride[i] = outStride[i + 1]! * outShape[i + 1]!;
  }
  const fill = (axis: number, inAt: number, outAt: number): void => {
    const s = shape[axis]!;
    if (axis === rank - 1) {
      out.set(x.subarray(inAt, inAt + s), outAt);
    } else {
      for (let j = 0; j < s; j++) fill(axis + 1, inAt + j * inStride[axis]!, outAt + j * outStride[axis]!);
    }
    // The block for one repetition along this axis is now complete; replicate it.
    const block = s * outStride[axis]!;
    const r = reps[axis]!;
    let have = 1;
    while (have < r) {
      const copies = Math.min(have, r - have);
      out.copyWithin(outAt + have * block, outAt, outAt + copies * block);
      have += copies;
    }
  };
  fill(0, 0, 0);
}

function tile(args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: TileAttrs }): TensorInfo {
  const { inputs: { x }, backend, attrs: { reps } } = args;
  if (reps.length !== x.shape.length) throw new Error(`Tile (wasm): ${reps.length} repetitions for a rank-${x.shape.length} tensor`);
  const outShape = x.shape.map((s, i) => s * reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  if (outShape.reduce((a, b) => a * b, 1) === 0) return out;
  tileInto(backend.typedArrayFromHeap(x) as Numeric, x.shape, reps, backend.typedArrayFromHeap(out) as Numeric);
  return out;
}

export const tileWasm: KernelConfig = { kernelName: Tile, backendName: 'wasm', kernelFunc: tile as unknown as KernelFunc };
