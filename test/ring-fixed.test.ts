import { describe, expect, it } from 'vitest';
import {
  checkSessionFracBits, decode, decodeScalar, DEFAULT_FRAC_BITS, encode, encodeScalar, MAX_FRAC_BITS, MAX_SESSION_FRAC_BITS, MIN_INTEGER_BITS,
} from '../src/ring/index.js';

// Deterministic pseudo-random doubles.
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

describe('fixed-point encoding', () => {
  it('defaults to 16 fractional bits', () => {
    expect(DEFAULT_FRAC_BITS).toBe(16);
    expect(encode([1.5])[0]).toBe(3n << 15n);
    expect(decode(new BigUint64Array([3n << 15n]))[0]).toBe(1.5);
  });

  it.each([0, 1, 8, 16, 24, 40])('round-trips within 2^-f/2 with f = %i', (f) => {
    const rnd = lcg(f + 1);
    const limit = Math.min(2 ** (62 - f), 1e12);
    const values: number[] = [0, -0, 1, -1, 0.5, -0.5, 2 ** -f, -(2 ** -f), limit, -limit];
    for (let i = 0; i < 5000; i++) {
      const mag = rnd() < 0.5 ? rnd() * 10 : rnd() * limit;
      values.push(rnd() < 0.5 ? -mag : mag);
    }
    const enc = encode(values, f);
    const dec = decode(enc, f);
    const tol = 2 ** -f / 2;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      // the rounding error of v*2^f is at most 1/2 ulp of the fixed-point grid,
      // plus float rounding of large results
      const slack = Math.abs(v) * 2 ** -52;
      if (!(Math.abs(dec[i]! - v) <= tol + slack)) throw new Error(`f=${f}: ${v} -> ${dec[i]}`);
      expect(enc[i]).toBe(encodeScalar(v, f));
      expect(decodeScalar(enc[i]!, f)).toBe(dec[i]);
    }
  });

  it('encodes negatives in two\'s complement and rounds to nearest', () => {
    expect(encode([-1], 16)[0]).toBe((1n << 64n) - 65536n);
    expect(encode([-1 / 65536], 16)[0]).toBe((1n << 64n) - 1n);
    expect([...encode([0.4 / 65536, 0.6 / 65536, -0.6 / 65536, 2.5], 16)]).toEqual([0n, 1n, (1n << 64n) - 1n, 163840n]);
    expect(decode(new BigUint64Array([(1n << 64n) - 1n]), 16)[0]).toBe(-1 / 65536);
    expect(decode(new BigUint64Array([1n << 63n]), 0)[0]).toBe(-(2 ** 63));
    expect(encodeScalar(-2.25, 4)).toBe((1n << 64n) - 36n);
    expect(decodeScalar((1n << 64n) - 36n, 4)).toBe(-2.25);
    expect(decodeScalar(-36n, 4)).toBe(-2.25);
  });

  it('encodes values near the range limit exactly', () => {
    const big = 2 ** 62 + 2 ** 40; // exactly representable double
    expect(encode([big], 0)[0]).toBe(BigInt(big));
    expect(encode([-big], 0)[0]).toBe(BigInt.asUintN(64, -BigInt(big)));
    // |round(v * 2^f)| = 2^63 is outside; the largest doubles below it are fine
    expect(() => encode([-(2 ** 47)], 16)).toThrow(RangeError);
    expect(encode([-(2 ** 47) + 2 ** -5], 16)[0]).toBe((1n << 63n) + (1n << 11n));
    expect(encode([2 ** 47 - 2 ** -5], 16)[0]).toBe((1n << 63n) - (1n << 11n));
    expect(decode(encode([123456789.25, -987654321.5], 16), 16)).toEqual(new Float64Array([123456789.25, -987654321.5]));
  });

  it('throws a RangeError naming the index, the value and the range', () => {
    expect(() => encode([1, 2, 2 ** 47], 16)).toThrow(RangeError);
    expect(() => encode([1, 2, 2 ** 47], 16)).toThrow(/value at index 2 is 140737488355328.*\|v\| < 140737488355328 with 16 fractional bits/);
    expect(() => encode([0, NaN], 16)).toThrow(/index 1 is NaN/);
    expect(() => encode([Infinity], 8)).toThrow(/index 0 is Infinity/);
    expect(() => encode([-Infinity], 8)).toThrow(RangeError);
    expect(() => encode([1e300], 0)).toThrow(RangeError);
    expect(() => encodeScalar(2 ** 30, 40)).toThrow(/outside the representable range/);
    expect(() => encode([1], 63)).toThrow(/fracBits/);
    expect(() => encode([1], 1.5)).toThrow(/fracBits/);
    expect(() => decode(new BigUint64Array(1), -1)).toThrow(/fracBits/);
  });

  it('accepts typed arrays and empty input', () => {
    expect(encode(new Float32Array([0.25, -0.75]), 2)).toEqual(new BigUint64Array([1n, (1n << 64n) - 3n]));
    expect(encode([], 16).length).toBe(0);
    expect(decode(new BigUint64Array(0)).length).toBe(0);
    const buf = new BigUint64Array([0n, 65536n, 131072n]);
    expect(decode(buf.subarray(1), 16)).toEqual(new Float64Array([1, 2]));
  });
});

describe('session fractional bits', () => {
  it('are bounded by the products: 2f fractional bits plus 23 integer bits (15 + 8 of headroom) below 2^63', () => {
    expect(MIN_INTEGER_BITS).toBe(23);
    expect(MAX_SESSION_FRAC_BITS).toBe(20);
    expect(2 * MAX_SESSION_FRAC_BITS + MIN_INTEGER_BITS).toBeLessThanOrEqual(63);
    expect(2 * (MAX_SESSION_FRAC_BITS + 1) + MIN_INTEGER_BITS).toBeGreaterThan(63);
    expect(MAX_FRAC_BITS).toBe(62); // encoding alone still takes more
    for (const f of [0, 1, DEFAULT_FRAC_BITS, 20]) expect(checkSessionFracBits(f, 'fracBits')).toBe(f);
  });

  it('refuse what cannot work, saying why', () => {
    expect(() => checkSessionFracBits(30, '--frac-bits')).toThrow(new RangeError(
      '--frac-bits 30 cannot work: a product of two fixed-point values carries 2f = 60 fractional bits, leaving 3 bits of integer range below 2^63; use 0 <= f <= 20 (at least 23 integer bits, 8 of them headroom against truncation wraps)',
    ));
    expect(() => checkSessionFracBits(21, 'fracBits')).toThrow(/^fracBits 21 cannot work: .* 2f = 42 fractional bits, leaving 21 bits of integer range below 2\^63; use 0 <= f <= 20/);
    expect(() => checkSessionFracBits(31, 'f')).toThrow(/leaving 1 bit of integer range/);
    for (const f of [32, 40, 62]) expect(() => checkSessionFracBits(f, 'f')).toThrow(/leaving no integer range below 2\^63/);
    for (const f of [-1, 1.5, NaN, Infinity]) {
      expect(() => checkSessionFracBits(f, 'fracBits')).toThrow(RangeError);
      expect(() => checkSessionFracBits(f, 'fracBits')).toThrow(new RegExp(`^fracBits ${f} cannot work: the number of fractional bits f must be a whole number >= 0; use 0 <= f <= 20`));
    }
  });
});
