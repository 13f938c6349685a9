/**
 * Protocol math of the 3-party truncation DReLU / ReLU / max pooling, in one
 * process over a loopback mesh (real processes: test/mpc-relu.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drelu, relu } from '../protocols/drelu.js';
import { maxPool2d } from '../protocols/maxpool.js';
import { reveal, revealRing, shareInput } from '../protocols/sharing.js';
import { simulateTruncSign, truncSignFromShares, truncSignParams, truncSignProbability } from '../src/approx/truncation-sign.js';
import { fillBits } from '../src/ring/field.js';
import { Context } from '../src/mpc/context.js';
import { Prg } from '../src/ring/prg.js';
import { encode } from '../src/ring/index.js';
import { localSession, type LocalSession } from './helpers/local-session.js';

let s: LocalSession;
beforeAll(async () => {
  s = await localSession('local', '3pc');
});
afterAll(async () => {
  await s.close();
});

function ints(lo: number, hi: number): number[] {
  const out = [];
  for (let v = lo; v <= hi; v++) out.push(v);
  return out;
}

describe('DReLU (3 parties)', () => {
  it.each([4, 7])('is exact on every integer in (-2^lx, 2^lx) at lx = %i (dropBits 0)', async (lx) => {
    const values = ints(-(2 ** lx) + 1, 2 ** lx - 1);
    const [b0] = await s.all(async (ctx) => {
      const x = shareInput(ctx, 0, ctx.id === 0 ? values : null, [values.length], 0);
      const d = await drelu(ctx, x, { lx, dropBits: 0 });
      return Array.from(await revealRing(ctx, d));
    });
    expect(b0.map(Number)).toEqual(values.map((v) => (v >= 0 ? 1 : 0)));
  });

  it('ReLU keeps full precision and matches the reference rule at lx = 16, f = 16', async () => {
    const n = 2000;
    const values = Array.from({ length: n }, (_, i) => ((i * 7919) % 4001 - 2000) / 16); // in (-128, 128), on and off the lx grid
    const [y] = await s.all(async (ctx) => {
      const x = shareInput(ctx, 0, ctx.id === 0 ? values : null, [n]);
      return Array.from(await reveal(ctx, await relu(ctx, x, { lx: 16 })));
    });
    const params = truncSignParams({ lx: 16, fracBits: 16 });
    for (let i = 0; i < n; i++) {
      const xr = Math.round(values[i]! * 65536);
      const p1 = truncSignProbability(xr, params);
      if (p1 === 1) expect(y[i]).toBe(values[i]);
      else if (p1 === 0) expect(y[i]).toBe(0);
      else expect([0, values[i]]).toContain(y[i]);
    }
  });

  it('max pooling 2x2 equals the plain max on distinct values', async () => {
    const shape = [1, 2, 4, 4];
    const values = Array.from({ length: 32 }, (_, i) => ((i * 13) % 32) - 16);
    const [y] = await s.all(async (ctx) => {
      const x = shareInput(ctx, 0, ctx.id === 0 ? values : null, shape);
      return Array.from(await reveal(ctx, await maxPool2d(ctx, x, 2, { lx: 16 })));
    });
    const expected = [];
    for (let c = 0; c < 2; c++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      let m = -Infinity;
      for (let di = 0; di < 2; di++) for (let dj = 0; dj < 2; dj++) m = Math.max(m, values[c * 16 + (2 * i + di) * 4 + 2 * j + dj]!);
      expected.push(m);
    }
    expect(y).toEqual(expected);
  });
});

describe('the plaintext reference', () => {
  it('simulation draws the same near-0 error rate as the rule, and the plaintext context uses it', async () => {
    const params = truncSignParams({ lx: 8, skip: 2, fracBits: 16 });
    const n = 20_000;
    const x = encode(new Array<number>(n).fill(-(2 ** 14) / 4 / 65536), 16);
    const bits = simulateTruncSign(x, params, new Prg(new Uint8Array(16).fill(7)));
    const zeros = bits.reduce((a, b) => a + (b === 0 ? 1 : 0), 0);
    expect(Math.abs(zeros - n / 4)).toBeLessThan(5 * Math.sqrt(n * 0.25 * 0.75));
    const plain = Context.plain();
    const d = await drelu(plain, shareInput(plain, 0, new Array<number>(n).fill(-(2 ** 14) / 4 / 65536), [n]), { lx: 8, skip: 2 });
    const plainZeros = Array.from(d.share).filter((b) => b === 0n).length;
    expect(Math.abs(plainZeros - n / 4)).toBeLessThan(5 * Math.sqrt(n * 0.25 * 0.75));
  });

  it('edge cases: 0, +-1 ulp of the test, range limits', () => {
    const params = truncSignParams({ lx: 16, fracBits: 16 }); // d = 8, range 2^24 ring units
    expect(truncSignProbability(0, params)).toBe(1);
    expect(truncSignProbability(1, params)).toBe(1);
    expect(truncSignProbability(-256, params)).toBe(0); // one test unit
    expect(truncSignProbability(-128, params)).toBe(0.5);
    expect(truncSignProbability(2 ** 24 - 1, params)).toBe(1);
    expect(truncSignProbability(-(2 ** 24) + 1, params)).toBe(0);
    expect(() => truncSignProbability(2 ** 24, params)).toThrow(/out of the test's range/);
    const stream = new Prg(new Uint8Array(16).fill(3));
    const edge = encode([0, 1 / 256, -1 / 256, 255.99609375, -255.99609375], 16);
    for (let rep = 0; rep < 50; rep++) expect(Array.from(simulateTruncSign(edge, params, stream))).toEqual([1, 1, 0, 1, 0]);
  });

  it('refuses parameters that cannot work, one clear error each', () => {
    expect(() => truncSignParams({ lx: 7, fracBits: 16 })).toThrow(/lx must be even/);
    expect(() => truncSignParams({ lx: 16, skip: 16, fracBits: 16 })).toThrow(/skip s must be an integer in \[0, lx - 2\]/);
    expect(() => truncSignParams({ lx: 26, fracBits: 16 })).toThrow(/lx - s must be at most 23/);
    expect(() => truncSignParams({ lx: 34, skip: 12, fracBits: 16 })).toThrow(/needs lx \/ 2 = 17 fractional bits/);
    expect(truncSignParams({ lx: 16, fracBits: 16 })).toMatchObject({ k: 18, values: 18, p: 262147, fieldBits: 19, dropBits: 8 });
  });
});

describe('the fast simulation', () => {
  it.each([
    { lx: 16, skip: 0, fracBits: 16 },
    { lx: 8, skip: 3, fracBits: 16 },
    { lx: 22, skip: 0, fracBits: 16 },
    { lx: 40, skip: 30, fracBits: 20 }, // g = 2^30
    { lx: 40, skip: 35, fracBits: 20 }, // g = 2^35: u mod g spans both words
  ])('equals the from-shares reference for the same shares and flips, in and out of range (%j)', (p) => {
    const params = truncSignParams(p);
    const n = 20_000;
    const rng = new Prg(new Uint8Array(16).fill(9));
    const range = 2 ** (params.lx + params.dropBits);
    // Mostly in range, a tenth beyond it, some near 0 and at the limits.
    const words = new Float64Array(n);
    const r = rng.ring(n);
    for (let i = 0; i < n; i++) {
      const w = Number(r[i]! % 1000003n) / 1000003;
      const scale = i % 10 === 0 ? 4 * range : i % 10 === 1 ? 2 ** (params.skip + params.dropBits) : range;
      words[i] = Math.trunc((2 * w - 1) * scale);
    }
    words[0] = 0; words[1] = -1; words[2] = range - 1; words[3] = -(range - 1); words[4] = range; words[5] = -range;
    const x = new BigUint64Array(n);
    for (let i = 0; i < n; i++) x[i] = BigInt.asUintN(64, BigInt(words[i]!));
    const seed = new Uint8Array(16).fill(5);
    const fast = simulateTruncSign(x, params, new Prg(seed));
    // Replay the same draws and take the exact path.
    const again = new Prg(seed);
    const u = new BigUint64Array(n);
    again.fill(new Uint8Array(u.buffer));
    const flips = new Uint8Array(n);
    fillBits(again, flips);
    const x0 = new BigUint64Array(n);
    for (let i = 0; i < n; i++) x0[i] = x[i]! - u[i]!;
    expect(Array.from(fast)).toEqual(Array.from(truncSignFromShares(x0, u, flips, params)));
  });
});
