/**
 * Truncation share math (PROTOCOLS.md 3), unit-tested on the share level:
 * the error distribution is floor(x / 2^d) + {0, 1} (unbiased); the local
 * rule's wrap failure appears at the rate |x| / 2^64 the analysis gives,
 * and the dealer rule has none below 2^62.
 */
import { describe, expect, it } from 'vitest';
import { TRUNC_OFFSET, truncate, truncLocalShare, truncMaskedShare } from '../protocols/truncation.js';
import { Context } from '../src/mpc/context.js';
import { Shared } from '../src/mpc/shared.js';
import { Prg } from '../src/ring/prg.js';

const D = 16;
const TWO64 = 1n << 64n;

function toSigned(v: bigint): bigint {
  return v >= 1n << 63n ? v - TWO64 : v;
}

/** floor(x / 2^D) for a signed bigint. */
function floorShift(x: bigint): bigint {
  return x >> BigInt(D); // BigInt >> is floor division for negatives too
}

/** Random signed x with |x| < 2^bits, as ring elements. */
function valuesBelow(prg: Prg, n: number, bits: number): BigUint64Array {
  const raw = prg.ring(n);
  const out = new BigUint64Array(n);
  const mask = (1n << BigInt(bits)) - 1n;
  for (let i = 0; i < n; i++) {
    const mag = raw[i]! & mask;
    out[i] = BigInt.asUintN(64, raw[i]! >> 63n ? -mag : mag);
  }
  return out;
}

type Scheme = (x: BigUint64Array, prg: Prg) => BigUint64Array;

/** SecureML: x0 uniform, x1 = x - x0, each holder shifts its own share. */
const local: Scheme = (x, prg) => {
  const x0 = prg.ring(x.length);
  const x1 = x.map((v, i) => BigInt.asUintN(64, v - x0[i]!));
  const t0 = truncLocalShare(x0, 0, D);
  const t1 = truncLocalShare(x1, 1, D);
  return t0.map((v, i) => BigInt.asUintN(64, v + t1[i]!));
};

/** Dealer-assisted: r uniform; (r >> D, msb(r) 2^(64 - D)) shared; c = x + 2^62 + r opened. */
const dealer: Scheme = (x, prg) => {
  const n = x.length;
  const r = prg.ring(n);
  const out1 = prg.ring(2 * n);
  const out = new BigUint64Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[i] = r[i]! >> BigInt(D);
    out[n + i] = BigInt.asUintN(64, (r[i]! >> 63n) << BigInt(64 - D));
  }
  const out0 = out.map((v, i) => BigInt.asUintN(64, v - out1[i]!));
  const c = x.map((v, i) => BigInt.asUintN(64, v + TRUNC_OFFSET + r[i]!));
  const t0 = truncMaskedShare(c, out0, 0, D);
  const t1 = truncMaskedShare(c, out1, 1, D);
  return t0.map((v, i) => BigInt.asUintN(64, v + t1[i]!));
};

/** Errors result - floor(x / 2^D), as signed bigints. */
function errors(x: BigUint64Array, result: BigUint64Array): bigint[] {
  return Array.from(x, (v, i) => toSigned(BigInt.asUintN(64, result[i]! - BigInt.asUintN(64, floorShift(toSigned(v))))));
}

describe.each([
  ['local (SecureML)', local],
  ['dealer-assisted', dealer],
] as const)('%s truncation', (_, scheme) => {
  it('is floor(x / 2^d) + {0, 1} for |x| < 2^40, both values occurring, unbiased', () => {
    const prg = new Prg(new Uint8Array(16).fill(1));
    const x = valuesBelow(prg, 100_000, 40);
    const errs = errors(x, scheme(x, prg));
    const counts = new Map<bigint, number>();
    for (const e of errs) counts.set(e, (counts.get(e) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([0n, 1n]);
    // The carry e is 1 with probability (x mod 2^d) / 2^d, so the mean error
    // is the mean fraction (~1/2 here) and the result is x / 2^d on average.
    let frac = 0;
    for (const v of x) frac += Number(BigInt.asUintN(D, v)) / 2 ** D;
    const ones = counts.get(1n)!;
    const sd = Math.sqrt(errs.length / 4);
    expect(Math.abs(ones - frac)).toBeLessThan(5 * sd);
  });
});

describe('local (SecureML) truncation fails at rate |x| / 2^64', () => {
  it('about 1/16 for |x| = 2^60, and the error is huge', () => {
    const prg = new Prg(new Uint8Array(16).fill(2));
    const n = 40_000;
    const x = new BigUint64Array(n);
    for (let i = 0; i < n; i++) x[i] = i % 2 ? 1n << 60n : BigInt.asUintN(64, -(1n << 60n));
    const errs = errors(x, local(x, prg));
    const failures = errs.filter((e) => e !== 0n && e !== 1n);
    // A failure is off by about 2^(64 - d), never a small amount.
    for (const e of failures) expect(e < 0n ? -e : e).toBeGreaterThan(1n << BigInt(64 - D - 1));
    const p = 1 / 16;
    const sd = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(failures.length - n * p)).toBeLessThan(5 * sd);
  });

  it('the rate grows with |x| as predicted (2^56: 1/256, 2^52: 1/4096)', () => {
    const prg = new Prg(new Uint8Array(16).fill(3));
    const n = 200_000;
    for (const bits of [56, 52]) {
      const x = new BigUint64Array(n).fill(1n << BigInt(bits));
      const failures = errors(x, local(x, prg)).filter((e) => e !== 0n && e !== 1n).length;
      const p = 2 ** (bits - 64);
      expect(Math.abs(failures - n * p), `|x| = 2^${bits}: ${failures} failures`).toBeLessThan(5 * Math.sqrt(n * p) + 1);
    }
  });
});

describe('dealer truncation is exact below 2^62', () => {
  it('never fails, even at |x| near 2^62 where local truncation fails 1 time in 4', () => {
    const prg = new Prg(new Uint8Array(16).fill(4));
    const n = 50_000;
    const top = (1n << 62n) - 1n;
    const x = new BigUint64Array(n);
    for (let i = 0; i < n; i++) x[i] = [top, BigInt.asUintN(64, -(1n << 62n)), 1n << 60n, BigInt.asUintN(64, -(1n << 61n)), 0n][i % 5]!;
    const errs = errors(x, dealer(x, prg));
    expect(errs.filter((e) => e !== 0n && e !== 1n)).toEqual([]);
    const localFailures = errors(x, local(x, prg)).filter((e) => e !== 0n && e !== 1n).length;
    expect(localFailures).toBeGreaterThan(n / 10);
  });

  it('fails outside its range (x >= 2^62): the bound is real', () => {
    const prg = new Prg(new Uint8Array(16).fill(5));
    const x = new BigUint64Array(20_000).fill((1n << 62n) + (1n << 61n));
    expect(errors(x, dealer(x, prg)).filter((e) => e !== 0n && e !== 1n).length).toBeGreaterThan(1000);
  });
});

describe('plaintext-context rounding', () => {
  // Values in units of 2^-2, truncated by 2 bits: -1.5, -0.5, 0.5, 1.5, 2.5 are ties; 0.75 and -0.25 are not.
  const raw = [-6n, -2n, 2n, 6n, 10n, 3n, -1n];
  const x = new Shared(BigUint64Array.from(raw, (v) => BigInt.asUintN(64, v)), [raw.length], 2);
  const signed = (s: Shared): bigint[] => Array.from(s.share, (v) => BigInt.asIntN(64, v));

  it("'floor' (default) floors; 'nearest' rounds ties to even, so exact halves carry no bias", async () => {
    expect(signed(await truncate(Context.plain({ fracBits: 2 }), x, 2))).toEqual([-2n, -1n, 0n, 1n, 2n, 0n, -1n]);
    expect(signed(await truncate(Context.plain({ fracBits: 2, plainRounding: 'nearest' }), x, 2))).toEqual([-2n, 0n, 0n, 2n, 2n, 1n, 0n]);
  });
});
