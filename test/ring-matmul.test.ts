import { describe, expect, it } from 'vitest';
import { gemm, matmul, matmulAccumulate, transpose } from '../src/ring/index.js';
import { expectSameRing, naiveMatmul, naiveTranspose, seededPrg } from './ring-helpers.js';

const prg = seededPrg(1);

// Shapes cover 1s, odd sizes, non-multiples of the 2x4 tile, more rows than
// one row block (64) and more depth than one depth block (512).
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1], [1, 7, 1], [1, 5, 9], [2, 3, 4], [3, 1, 5], [5, 7, 3], [4, 8, 8],
  [7, 13, 11], [16, 16, 16], [9, 33, 17], [70, 19, 6], [3, 600, 5], [66, 520, 10],
];

describe('matmul over Z_2^64', () => {
  it.each(SHAPES)('matches the BigInt reference for %i x %i x %i', (m, n, k) => {
    const a = prg.ring(m * n);
    const b = prg.ring(n * k);
    expectSameRing(matmul(a, b, m, n, k), naiveMatmul(a, b, m, n, k));
  });

  it('wraps mod 2^64 on extreme values', () => {
    const max = (1n << 64n) - 1n;
    const a = new BigUint64Array([max, max, 1n << 63n, 3n]);
    const b = new BigUint64Array([max, 1n << 63n, max, 2n]);
    expectSameRing(matmul(a, b, 2, 2, 2), naiveMatmul(a, b, 2, 2, 2));
  });

  it('writes into out and accepts out aliasing an input', () => {
    const a = prg.ring(36);
    const b = prg.ring(36);
    const want = naiveMatmul(a, b, 6, 6, 6);
    const out = new BigUint64Array(36).fill(123n);
    expect(matmul(a, b, 6, 6, 6, out)).toBe(out);
    expectSameRing(out, want);
    const a2 = a.slice();
    matmul(a2, b, 6, 6, 6, a2);
    expectSameRing(a2, want);
  });

  it.each([[1, 1, 1], [5, 9, 7], [66, 520, 10]] as Array<[number, number, number]>)(
    'matmulAccumulate adds into c for %i x %i x %i', (m, n, k) => {
      const a = prg.ring(m * n);
      const b = prg.ring(n * k);
      const c = prg.ring(m * k);
      const before = c.slice();
      const prod = naiveMatmul(a, b, m, n, k);
      expect(matmulAccumulate(c, a, b, m, n, k)).toBe(c);
      for (let i = 0; i < c.length; i++) expect(c[i]).toBe(BigInt.asUintN(64, before[i]! + prod[i]!));
    },
  );

  it.each([[3, 5, 7], [6, 9, 8], [1, 4, 1], [7, 530, 9]] as Array<[number, number, number]>)(
    'gemm handles transposed operands for %i x %i x %i', (m, n, k) => {
      const a = prg.ring(m * n);
      const b = prg.ring(n * k);
      const want = naiveMatmul(a, b, m, n, k);
      const aT = naiveTranspose(a, m, n);
      const bT = naiveTranspose(b, n, k);
      expectSameRing(gemm(aT, b, m, n, k, { transA: true }), want);
      expectSameRing(gemm(a, bT, m, n, k, { transB: true }), want);
      expectSameRing(gemm(aT, bT, m, n, k, { transA: true, transB: true }), want);
      const c = prg.ring(m * k);
      const acc = c.slice();
      gemm(aT, bT, m, n, k, { transA: true, transB: true, out: acc, accumulate: true });
      for (let i = 0; i < c.length; i++) expect(acc[i]).toBe(BigInt.asUintN(64, c[i]! + want[i]!));
    },
  );

  it('handles empty dimensions', () => {
    expect(matmul(new BigUint64Array(0), new BigUint64Array(0), 0, 3, 0).length).toBe(0);
    const out = new BigUint64Array(6).fill(9n);
    matmul(new BigUint64Array(0), new BigUint64Array(0), 2, 0, 3, out);
    expect([...out]).toEqual([0n, 0n, 0n, 0n, 0n, 0n]);
    const acc = new BigUint64Array(6).fill(9n);
    matmulAccumulate(acc, new BigUint64Array(0), new BigUint64Array(0), 2, 0, 3);
    expect([...acc]).toEqual([9n, 9n, 9n, 9n, 9n, 9n]);
  });

  it('rejects mismatched lengths with a message naming them', () => {
    const a = new BigUint64Array(6);
    const b = new BigUint64Array(12);
    expect(() => matmul(a, b, 2, 3, 5)).toThrow(RangeError);
    expect(() => matmul(a, b, 2, 3, 5)).toThrow(/B \(3 x 5\) needs 15 elements, got 12/);
    expect(() => matmul(a, b, 3, 3, 4)).toThrow(/A \(3 x 3\) needs 9 elements, got 6/);
    expect(() => matmul(a, b, 2, 3, 4, new BigUint64Array(7))).toThrow(/C \(2 x 4\) needs 8 elements, got 7/);
    expect(() => matmul(a, b, 2.5, 3, 4)).toThrow(RangeError);
  });

  it('transposes', () => {
    const a = prg.ring(7 * 45);
    expectSameRing(transpose(a, 7, 45), naiveTranspose(a, 7, 45));
    expectSameRing(transpose(transpose(a, 7, 45), 45, 7), a);
    expect(() => transpose(a, 7, 44)).toThrow(/needs 308 elements, got 315/);
  });
});

describe('wasm linear memory', () => {
  it('refuses layouts beyond the 4 GiB wasm32 limit before touching memory', async () => {
    const { reserve, wasmMemoryBytes } = await import('../src/ring/wasm/kernels.js');
    const before = wasmMemoryBytes();
    expect(() => reserve(3 * 2 ** 30, 2 * 2 ** 30)).toThrow(/more than the 4 GiB/);
    expect(() => reserve(-1)).toThrow(RangeError);
    expect(wasmMemoryBytes()).toBe(before);
  });
});
