// The fused Beaver combine kernel and the ceil shift against BigInt arithmetic.
import { describe, expect, it } from 'vitest';
import { beaverCombineInPlace, shrArithCeil } from '../src/ring/index.js';
import { seededPrg } from './ring-helpers.js';

const M = (1n << 64n) - 1n;
const signed = (v: bigint): bigint => BigInt.asIntN(64, v);

describe('beaverCombineInPlace', () => {
  it.each([[0, 0], [1, 0], [0, 16], [1, 16], [1, 63]] as const)('holder %i, truncation %i bits, matches BigInt', (holder, bits) => {
    const prg = seededPrg(40 + holder + bits);
    const n = 37;
    const [c, mine, theirs, x, y] = [prg.ring(n), prg.ring(2 * n), prg.ring(2 * n), prg.ring(n), prg.ring(n)];
    const expected = Array.from(c, (cv, i) => {
      const e = mine[i]! + theirs[i]!;
      const d = mine[n + i]! + theirs[n + i]!;
      const z = BigInt.asIntN(64, cv + e * (holder === 0 ? y[i]! - d : y[i]!) + x[i]! * d);
      if (bits === 0) return z & M;
      // BigInt >> floors; P1 takes -floor(-z / 2^bits).
      return (holder === 0 ? z >> BigInt(bits) : -((-z) >> BigInt(bits))) & M;
    });
    beaverCombineInPlace(c, mine, theirs, x, y, holder, bits);
    expect(Array.from(c)).toEqual(expected);
  });

  it('rejects mismatched lengths and bad shifts', () => {
    const a = new BigUint64Array(4);
    expect(() => beaverCombineInPlace(a, new BigUint64Array(8), new BigUint64Array(7), a, a, 0, 0)).toThrow(/expected 8 elements, got 7/);
    expect(() => beaverCombineInPlace(a, new BigUint64Array(8), new BigUint64Array(8), a, a, 0, 64)).toThrow(/truncation by 64 bits/);
  });
});

describe('shrArithCeil', () => {
  it('is -((-a) >> bits) = ceil(a / 2^bits) of the signed value', () => {
    const prg = seededPrg(77);
    const a = prg.ring(1001);
    for (const bits of [0, 1, 16, 40, 63]) {
      const got = shrArithCeil(a, bits);
      a.forEach((v, i) => expect(got[i]).toBe((-((-signed(v)) >> BigInt(bits))) & M));
    }
  });
});
