import { describe, expect, it } from 'vitest';
import {
  add, addScalar, allocRing, assertShape, mul, mulScalar, neg, ringTensor, shapeSize, shrArith, shrLogical, sub,
} from '../src/ring/index.js';
import { seededPrg } from './ring-helpers.js';

const prg = seededPrg(3);
const M = 1n << 64n;
const u = (x: bigint): bigint => BigInt.asUintN(64, x);
const s = (x: bigint): bigint => BigInt.asIntN(64, x);

// Lengths around the 8-way unroll and the 16384-element shift chunk.
const LENGTHS = [0, 1, 7, 8, 9, 63, 1000, 16384, 16389, 40000];

type Binary = (a: BigUint64Array, b: BigUint64Array, out?: BigUint64Array) => BigUint64Array;
const BINARY: Array<[string, Binary, (x: bigint, y: bigint) => bigint]> = [
  ['add', add, (x, y) => u(x + y)],
  ['sub', sub, (x, y) => u(x - y)],
  ['mul', mul, (x, y) => u(x * y)],
];

describe('elementwise ring ops', () => {
  it.each(BINARY)('%s matches BigInt arithmetic mod 2^64', (_name, op, ref) => {
    for (const n of LENGTHS) {
      const a = prg.ring(n);
      const b = prg.ring(n);
      const got = op(a, b);
      expect(got.length).toBe(n);
      for (let i = 0; i < n; i++) if (got[i] !== ref(a[i]!, b[i]!)) throw new Error(`${_name} n=${n} i=${i}`);
      // out aliasing either input
      const a2 = a.slice();
      op(a2, b, a2);
      for (let i = 0; i < n; i++) if (a2[i] !== got[i]) throw new Error(`${_name} alias a, n=${n} i=${i}`);
      const b2 = b.slice();
      op(a, b2, b2);
      for (let i = 0; i < n; i++) if (b2[i] !== got[i]) throw new Error(`${_name} alias b, n=${n} i=${i}`);
    }
  });

  it('handles edge values', () => {
    const a = new BigUint64Array([0n, 1n, M - 1n, 1n << 63n, (1n << 63n) - 1n]);
    const b = new BigUint64Array([M - 1n, M - 1n, M - 1n, 1n << 63n, 2n]);
    expect([...add(a, b)]).toEqual([M - 1n, 0n, M - 2n, 0n, (1n << 63n) + 1n]);
    expect([...sub(a, b)]).toEqual([1n, 2n, 0n, 0n, (1n << 63n) - 3n]);
    expect([...mul(a, b)]).toEqual([0n, M - 1n, 1n, 0n, M - 2n]);
    expect([...neg(a)]).toEqual([0n, M - 1n, 1n, 1n << 63n, (1n << 63n) + 1n]);
  });

  it('neg, mulScalar and addScalar match BigInt arithmetic', () => {
    for (const n of LENGTHS) {
      const a = prg.ring(n);
      const ng = neg(a);
      const ms = mulScalar(a, -12345678901234567n);
      const as = addScalar(a, (1n << 64n) + 5n);
      for (let i = 0; i < n; i++) {
        if (ng[i] !== u(-a[i]!)) throw new Error(`neg ${i}`);
        if (ms[i] !== u(a[i]! * -12345678901234567n)) throw new Error(`mulScalar ${i}`);
        if (as[i] !== u(a[i]! + 5n)) throw new Error(`addScalar ${i}`);
      }
      const inPlace = a.slice();
      neg(inPlace, inPlace);
      expect(inPlace).toEqual(ng);
    }
  });

  it('shrArith shifts the signed value with sign fill', () => {
    const vals = [-5n, -1n, -2n, 5n, 0n, -(1n << 63n), (1n << 63n) - 1n, -65536n, -65537n, 65535n];
    const a = new BigUint64Array(vals.map(u));
    expect([...shrArith(a, 1)].map(s)).toEqual([-3n, -1n, -1n, 2n, 0n, -(1n << 62n), (1n << 62n) - 1n, -32768n, -32769n, 32767n]);
    expect([...shrArith(a, 16)].map(s)).toEqual([-1n, -1n, -1n, 0n, 0n, -(1n << 47n), (1n << 47n) - 1n, -1n, -2n, 0n]);
    expect([...shrArith(a, 0)]).toEqual([...a]);
    expect([...shrArith(a, 63)].map(s)).toEqual([-1n, -1n, -1n, 0n, 0n, -1n, 0n, -1n, -1n, 0n]);
    for (const n of LENGTHS) {
      const r = prg.ring(n);
      for (const bits of [1, 13, 32, 40]) {
        const got = shrArith(r, bits);
        for (let i = 0; i < n; i++) if (got[i] !== u(s(r[i]!) >> BigInt(bits))) throw new Error(`shrArith n=${n} bits=${bits} i=${i}`);
      }
    }
  });

  it('shrLogical zero-fills', () => {
    const a = new BigUint64Array([u(-5n), 1n << 63n, 12345n]);
    expect([...shrLogical(a, 1)]).toEqual([(M - 5n) >> 1n, 1n << 62n, 6172n]);
    expect([...shrLogical(a, 63)]).toEqual([1n, 1n, 0n]);
    for (const n of LENGTHS) {
      const r = prg.ring(n);
      const got = shrLogical(r, 17);
      for (let i = 0; i < n; i++) if (got[i] !== r[i]! >> 17n) throw new Error(`shrLogical n=${n} i=${i}`);
      const inPlace = r.slice();
      shrLogical(inPlace, 17, inPlace);
      expect(inPlace).toEqual(got);
    }
  });

  it('rejects length mismatches naming the lengths', () => {
    const a = new BigUint64Array(3);
    const b = new BigUint64Array(4);
    for (const [name, op] of BINARY) {
      expect(() => op(a, b)).toThrow(RangeError);
      expect(() => op(a, b)).toThrow(new RegExp(`${name}: length mismatch, 3 vs 4`));
      expect(() => op(a, a, b)).toThrow(/output has length 4, inputs have length 3/);
    }
    expect(() => neg(a, b)).toThrow(/output has length 4/);
    expect(() => shrArith(a, 64)).toThrow(/shift must be an integer in \[0, 63\], got 64/);
    expect(() => shrLogical(a, -1)).toThrow(RangeError);
    expect(() => shrArith(a, 1.5)).toThrow(RangeError);
  });
});

describe('allocRing', () => {
  it('gives aligned, writable arrays of the asked length on both sides of the pooled size', () => {
    for (const n of [0, 5, 1023, 1024, 100_000]) {
      const a = allocRing(n);
      expect(a.length).toBe(n);
      expect(a.byteOffset % 8).toBe(0);
      if (n > 0) {
        a[n - 1] = M - 1n;
        expect(a[n - 1]).toBe(M - 1n);
      }
    }
  });
});

describe('shapes', () => {
  it('computes sizes and checks data against shapes', () => {
    expect(shapeSize([])).toBe(1);
    expect(shapeSize([2, 3, 4])).toBe(24);
    expect(shapeSize([2, 0, 4])).toBe(0);
    expect(() => shapeSize([2, -1])).toThrow(/bad shape \[2, -1\]/);
    expect(() => shapeSize([1.5])).toThrow(RangeError);
    expect(() => assertShape(new BigUint64Array(5), [2, 3], 'weights')).toThrow(/weights: shape \[2, 3\] needs 6 elements, got 5/);
    expect(() => assertShape(new BigUint64Array(6), [2, 3], 'weights')).not.toThrow();
    const t = ringTensor(new BigUint64Array(6), [3, 2]);
    expect(t.shape).toEqual([3, 2]);
  });
});
