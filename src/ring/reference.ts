/**
 * Textbook BigInt reference kernels: the ground truth that tests compare the
 * wasm kernels with, and the "naive BigInt loop" that bench/kernels.ts times.
 * Never use them on a hot path (a heap BigInt per multiply-add).
 */

/** C = A (m x n) * B (n x k) mod 2^64, dot products reduced once per output. */
export function naiveMatmulBigInt(a: BigUint64Array, b: BigUint64Array, m: number, n: number, k: number): BigUint64Array {
  const c = new BigUint64Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0n;
      for (let p = 0; p < n; p++) s += a[i * n + p]! * b[p * k + j]!;
      c[i * k + j] = BigInt.asUintN(64, s);
    }
  }
  return c;
}
