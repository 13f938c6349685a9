/**
 * Matrix products over Z_2^64 on row-major BigUint64Array matrices, backed by
 * the WebAssembly SIMD kernel (src/ring/assembly/kernels.ts).
 */
import { copyIn, copyOut, GEMM_ACCUMULATE, GEMM_TRANS_A, GEMM_TRANS_B, gemmScratchBytes, kernels, reserve } from './wasm/kernels.js';

export interface GemmOptions {
  /** `a` holds A^T, stored row-major as [n x m]. */
  transA?: boolean;
  /** `b` holds B^T, stored row-major as [k x n]. */
  transB?: boolean;
  /** Add the product into `out` (which must then be given) instead of overwriting it. */
  accumulate?: boolean;
  /** Destination (m x k), allocated when absent. It may alias `a` or `b`: inputs are copied before it is written. */
  out?: BigUint64Array;
}

function checkDim(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`matmul: ${name} must be a non-negative integer, got ${v}`);
}

/**
 * General product C (m x k) = op(A) (m x n) * op(B) (n x k) mod 2^64, where
 * op transposes when asked. Returns C (the given `out` or a new array).
 */
export function gemm(
  a: BigUint64Array, b: BigUint64Array,
  m: number, n: number, k: number,
  opts: GemmOptions = {},
): BigUint64Array {
  checkDim('m', m);
  checkDim('n', n);
  checkDim('k', k);
  const aDesc = opts.transA ? `A^T (${n} x ${m})` : `A (${m} x ${n})`;
  const bDesc = opts.transB ? `B^T (${k} x ${n})` : `B (${n} x ${k})`;
  if (a.length !== m * n) throw new RangeError(`matmul: ${aDesc} needs ${m * n} elements, got ${a.length}`);
  if (b.length !== n * k) throw new RangeError(`matmul: ${bDesc} needs ${n * k} elements, got ${b.length}`);
  const out = opts.out;
  if (out !== undefined && out.length !== m * k) {
    throw new RangeError(`matmul: output C (${m} x ${k}) needs ${m * k} elements, got ${out.length}`);
  }
  if (opts.accumulate && out === undefined) throw new RangeError('matmul: accumulate needs an output to add into');
  const c = out ?? new BigUint64Array(m * k);
  if (m === 0 || k === 0) return c;
  const [pa, pb, pc, scratch] = reserve(a.byteLength, b.byteLength, c.byteLength, gemmScratchBytes(m, n, k));
  copyIn(a, pa!);
  copyIn(b, pb!);
  let flags = 0;
  if (opts.transA) flags |= GEMM_TRANS_A;
  if (opts.transB) flags |= GEMM_TRANS_B;
  if (opts.accumulate) {
    flags |= GEMM_ACCUMULATE;
    copyIn(c, pc!);
  }
  kernels.gemm(pa!, pb!, pc!, m, n, k, flags, scratch!);
  return copyOut(pc!, m * k, c);
}

/** C (m x k) = A (m x n) * B (n x k) mod 2^64, all row-major. */
export function matmul(
  a: BigUint64Array, b: BigUint64Array,
  m: number, n: number, k: number,
  out?: BigUint64Array,
): BigUint64Array {
  return gemm(a, b, m, n, k, out === undefined ? {} : { out });
}

/** c += A (m x n) * B (n x k) mod 2^64, in place; returns c. */
export function matmulAccumulate(
  c: BigUint64Array, a: BigUint64Array, b: BigUint64Array,
  m: number, n: number, k: number,
): BigUint64Array {
  return gemm(a, b, m, n, k, { out: c, accumulate: true });
}

/** Transpose of a row-major (rows x cols) matrix. */
export function transpose(a: BigUint64Array, rows: number, cols: number, out?: BigUint64Array): BigUint64Array {
  if (a.length !== rows * cols) throw new RangeError(`transpose: (${rows} x ${cols}) needs ${rows * cols} elements, got ${a.length}`);
  const t = out ?? new BigUint64Array(a.length);
  if (t.length !== a.length) throw new RangeError(`transpose: output needs ${a.length} elements, got ${t.length}`);
  if (t === a && rows !== 1 && cols !== 1) throw new RangeError('transpose: output may not alias the input');
  // Tiles keep both sides cache-friendly.
  const T = 32;
  for (let i0 = 0; i0 < rows; i0 += T) {
    const i1 = Math.min(rows, i0 + T);
    for (let j0 = 0; j0 < cols; j0 += T) {
      const j1 = Math.min(cols, j0 + T);
      for (let i = i0; i < i1; i++) {
        const row = i * cols;
        for (let j = j0; j < j1; j++) t[j * rows + i] = a[row + j]!;
      }
    }
  }
  return t;
}
