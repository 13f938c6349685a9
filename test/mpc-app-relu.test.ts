/**
 * AppReLU and AppMax pooling as protocols (protocols/app-relu.ts,
 * protocols/app-max.ts).
 *
 * Bounds the tests state (ulp = 2^-f):
 *  - plaintext context (the protocol code with one party) against the
 *    library's float64 r_alpha, on the library's dense grid (2^17 + 1
 *    points on [-B, B] and 2^14 + 1 on [-2 eps B, 2 eps B]), alpha 7..12,
 *    f = 16 and 20: |plain - B r_alpha(x / B)| <= 10 ulp for B <= 1 and
 *    <= 20 B ulp for B > 1 (measured maxima 7.9 ulp and 17.1 B ulp), and
 *    never more than the library's own fixed-point Clenshaw path (its
 *    measured reference, float.ts) plus 1 ulp; against ReLU within the
 *    library's B 2^-alpha wherever the library measured fixed point safe
 *    (f = 16: alpha <= 11, f = 20: alpha <= 13). It also equals an
 *    independent integer model of the same computation bit for bit
 *    (test/helpers/app-relu-model.ts).
 *  - 2pc and 3pc (in-process sessions, local and dealer truncation)
 *    against the plaintext context: per element within 1.1 D(x) + 2 ulp,
 *    D(x) = 2 sum over the element's truncations of |d output / d site|,
 *    the first-order effect of each truncation's extra (-1, 2) ulps
 *    (derivation in the model's header). On [-1, 1] D is at most
 *    16..46 ulp (alpha 7..12) and ~6 ulp on average; measured
 *    |MPC - plain| <= 10 ulp (B = 1) and <= 4.5 B ulp (B = 4). The
 *    Clenshaw option has no model: 32 max(B, 1) ulp (measured <= 12 B).
 *  - AppMax pooling against the library's appMaxScaled per window of n
 *    values: within ceil(log2 n) 20 B' ulp for the plaintext context
 *    (one AppReLU at bound B' per level, each within 20 B' ulp as above;
 *    measured <= 0.92 B' ulp per level) and ceil(log2 n) 40 B' ulp for
 *    2pc / 3pc (measured <= 7.5 B' ulp over 3 levels).
 *  - rounds of every call equal appReluRounds / appMaxRounds (profile).
 *
 * Local and dealer truncation fail ("wrap") with probability |v| / 2^64 per
 * truncated element, about 2^-32 here at f = 16 (~1e-8 per AppReLU element
 * at alpha 12): the MPC grids are kept to a few thousand points so that a
 * run of this file meets one with probability below 1e-3.
 *
 * No real-process run here: that needs a job kind in src/jobs (not this
 * file's to add); measured real 2pc runs are in the task report.
 */
import { describe, expect, it } from 'vitest';
import {
  appMaxErrorBound,
  appMaxScale,
  appMaxScaled,
  appRelu as libAppRelu,
  appReluProgram,
  evaluateReluPath,
  float64Ops,
  minimaxSign,
  reluGrid,
} from '../src/approx/index.js';
import { Context, type TruncationMode } from '../src/mpc/context.js';
import type { Shared } from '../src/mpc/shared.js';
import { decode } from '../src/ring/index.js';
import { appMaxLevels, appMaxPool, appMaxRounds } from '../protocols/app-max.js';
import { appRelu, appReluProducts, appReluRounds, chebyshevLevels, treeDepth, type AppReluMethod } from '../protocols/app-relu.js';
import { maxPoolGeometry } from '../protocols/maxpool.js';
import { reveal, shareInput } from '../protocols/sharing.js';
import { appReluModel } from './helpers/app-relu-model.js';
import { localSession } from './helpers/local-session.js';

const ALPHAS = [7, 8, 9, 10, 11, 12];
/** Largest alpha the library measured fixed-point Clenshaw safe for (src/approx/float32.ts). */
const SAFE_ALPHA: Record<number, number> = { 16: 11, 20: 13 };

/** The stated bound on |plain - B r_alpha(x / B)| in ulps. */
function statedUlps(bound: number, method: AppReluMethod = 'tree'): number {
  const base = method === 'tree' ? 10 : 14;
  return bound <= 1 ? base : 2 * base * bound;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Shares values (on P0) and runs appRelu; returns the revealed output (P2: null) and the shared input as the parties see it. */
async function runRelu(ctx: Context, values: Float64Array, opts: { alpha: number; bound: number; method?: AppReluMethod }): Promise<Float64Array | null> {
  const x = shareInput(ctx, 0, ctx.id === 0 ? values : null, [values.length]);
  const y = await appRelu(ctx, x, opts);
  expect(y.shape).toEqual([values.length]);
  return ctx.isHelper ? null : reveal(ctx, y);
}

/** What the plaintext context actually feeds in: the values rounded to f bits. */
function encoded(values: Float64Array, fracBits: number): Float64Array {
  const ctx = Context.plain({ fracBits });
  return decode(shareInput(ctx, 0, values, [values.length]).share, fracBits);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A smaller grid for MPC runs: 2^12 + 1 points on [-B, B] and 2^9 + 1 on [-2 eps B, 2 eps B]. */
function mpcGrid(alpha: number, bound: number): Float64Array {
  const eps = minimaxSign({ alpha }).eps;
  const coarse = 2 ** 12 + 1;
  const fine = 2 ** 9 + 1;
  const out = new Float64Array(coarse + fine);
  for (let i = 0; i < coarse; i++) out[i] = bound * (-1 + (2 * i) / (coarse - 1));
  for (let i = 0; i < fine; i++) out[coarse + i] = bound * 2 * eps * (-1 + (2 * i) / (fine - 1));
  return out;
}

describe('the Chebyshev product tree', () => {
  it.each([3, 5, 7, 13, 15, 27, 29])('degree %i: every odd T_n in ceil(log2 d) levels, each product from earlier levels', (d) => {
    const levels = chebyshevLevels(d);
    expect(levels.length).toBe(treeDepth(d));
    expect(levels.length).toBe(Math.ceil(Math.log2(d)));
    const ready = new Map<number, number>([[1, 0], [0, 0]]);
    levels.forEach((level, k) => {
      for (const s of level) {
        expect(ready.get(s.a)!, `T_${s.n}: T_${s.a}`).toBeLessThanOrEqual(k);
        expect(ready.get(s.b)!, `T_${s.n}: T_${s.b}`).toBeLessThanOrEqual(k);
        expect(ready.get(s.c)!, `T_${s.n}: T_${s.c}`).toBeLessThanOrEqual(k);
        expect(s.a + s.b).toBe(s.n);
        expect(Math.abs(s.a - s.b)).toBe(s.c);
      }
      for (const s of level) ready.set(s.n, k + 1);
    });
    for (let n = 1; n <= d; n += 2) expect(ready.has(n), `T_${n}`).toBe(true);
    // The recurrences reproduce T_n(cos th) = cos(n th) in float64.
    for (const th of [0.1, 0.7, 1.3, 2.9]) {
      const T = new Map<number, number>([[0, 1], [1, Math.cos(th)]]);
      for (const s of levels.flat()) T.set(s.n, 2 * T.get(s.a)! * T.get(s.b)! - T.get(s.c)!);
      for (const [n, v] of T) expect(v).toBeCloseTo(Math.cos(n * th), 12);
    }
    // floor(log2(d - 1)) squares and (d - 1) / 2 other products
    const squares = levels.flat().filter((s) => s.a === s.b).length;
    expect(squares).toBe(Math.floor(Math.log2(d - 1)));
    expect(levels.flat().length - squares).toBe((d - 1) / 2);
  });

  it('rounds per call: sum of ceil(log2 d_i) + 1 (tree) against sum of (d_i + 1) / 2 + 1 (Clenshaw), local truncation', () => {
    const tree: Record<number, number> = { 7: 7, 8: 8, 9: 9, 10: 11, 11: 12, 12: 13 };
    const clenshaw: Record<number, number> = { 7: 9, 8: 13, 9: 17, 10: 16, 11: 23, 12: 27 };
    for (const alpha of ALPHAS) {
      expect(appReluRounds(alpha)).toBe(tree[alpha]);
      expect(appReluRounds(alpha, { method: 'clenshaw' })).toBe(clenshaw[alpha]);
      const k = minimaxSign({ alpha }).degrees.length;
      // dealer truncation: + one round per product level, per stage sum, for the final product, and for t = x / B when B != 1
      expect(appReluRounds(alpha, { truncation: 'dealer' })).toBe(2 * tree[alpha]! + k);
      expect(appReluRounds(alpha, { truncation: 'dealer', bound: 3 })).toBe(2 * tree[alpha]! + k + 1);
      expect(appReluRounds(alpha, { bound: 3 })).toBe(tree[alpha]);
    }
    expect(appReluProducts(10)).toEqual({ squares: 7, muls: 13 }); // 7/7/13: (2 + 2 + 3) squares, (3 + 3 + 6 + 1) muls
    expect(appReluProducts(10, 'clenshaw')).toEqual({ squares: 3, muls: 13 });
  });
});

describe('plaintext context against the library (dense grid)', () => {
  it.each([16, 20])('f = %i, B = 1: bit-exact with the model, within the stated bound of float64 r_alpha, within 2^-alpha of ReLU where the library says fixed point is safe', async (f) => {
    const ctx = Context.plain({ fracBits: f });
    for (const alpha of [...ALPHAS, 13]) {
      const sign = minimaxSign({ alpha });
      const xs = encoded(reluGrid(sign), f);
      const y = (await runRelu(ctx, xs, { alpha, bound: 1 }))!;
      const model = appReluModel(alpha, xs, f, 1);
      expect(maxAbsDiff(y, model.values), `alpha ${alpha}: plaintext context = model`).toBe(0);
      const ref = appReluProgram(float64Ops, sign, xs);
      const err = maxAbsDiff(y, ref) * 2 ** f;
      if (alpha <= 12) expect(err, `alpha ${alpha}: |plain - r_alpha| in ulps`).toBeLessThanOrEqual(statedUlps(1));
      // the library's fixed-point Clenshaw reference on the same inputs
      const lib = evaluateReluPath(sign, xs, { basis: 'chebyshev', precision: { fixedBits: f } });
      expect(lib.inputs).toEqual(xs);
      expect(err, `alpha ${alpha}: no worse than the library's fixed-point path + 1 ulp`).toBeLessThanOrEqual(maxAbsDiff(lib.outputs, ref) * 2 ** f + 1);
      if (alpha <= SAFE_ALPHA[f]!) {
        let relu = 0;
        for (let i = 0; i < xs.length; i++) relu = Math.max(relu, Math.abs(y[i]! - Math.max(xs[i]!, 0)));
        expect(relu, `alpha ${alpha}: |plain - ReLU|`).toBeLessThanOrEqual(2 ** -alpha);
      }
    }
  });

  it.each([[16, 10], [20, 10], [16, 0.25]])('f = %i, B = %d: the same on [-B, B]', async (f, bound) => {
    const ctx = Context.plain({ fracBits: f });
    for (const alpha of ALPHAS) {
      const sign = minimaxSign({ alpha });
      const xs = encoded(reluGrid(sign).map((v) => v * bound), f);
      const y = (await runRelu(ctx, xs, { alpha, bound }))!;
      expect(maxAbsDiff(y, appReluModel(alpha, xs, f, bound).values), `alpha ${alpha}: plaintext context = model`).toBe(0);
      const ref = appReluProgram(float64Ops, sign, xs.map((v) => v / bound)).map((v) => v * bound);
      expect(maxAbsDiff(y, ref) * 2 ** f, `alpha ${alpha}: |plain - B r_alpha(x / B)| in ulps`).toBeLessThanOrEqual(statedUlps(bound));
      if (alpha <= SAFE_ALPHA[f]!) {
        let relu = 0;
        for (let i = 0; i < xs.length; i++) relu = Math.max(relu, Math.abs(y[i]! - Math.max(xs[i]!, 0)));
        expect(relu, `alpha ${alpha}: |plain - ReLU|`).toBeLessThanOrEqual(bound * 2 ** -alpha);
      }
    }
    // the library's float64 convenience agrees with the program used above
    expect(libAppRelu(10, { bound }).evaluate(0.3 * bound)).toBeCloseTo(appReluProgram(float64Ops, minimaxSign({ alpha: 10 }), Float64Array.of(0.3))[0]! * bound, 12);
  });

  it("Clenshaw option: within 14 ulp of float64 r_alpha (B = 1), more rounds, and the tree is no less precise", async () => {
    for (const f of [16, 20]) {
      const ctx = Context.plain({ fracBits: f });
      for (const alpha of ALPHAS) {
        const sign = minimaxSign({ alpha });
        const xs = encoded(reluGrid(sign), f);
        const ref = appReluProgram(float64Ops, sign, xs);
        const clen = maxAbsDiff((await runRelu(ctx, xs, { alpha, bound: 1, method: 'clenshaw' }))!, ref) * 2 ** f;
        const tree = maxAbsDiff((await runRelu(ctx, xs, { alpha, bound: 1 }))!, ref) * 2 ** f;
        expect(clen, `f ${f} alpha ${alpha}: clenshaw`).toBeLessThanOrEqual(statedUlps(1, 'clenshaw'));
        expect(tree, `f ${f} alpha ${alpha}: tree (${tree}) vs clenshaw (${clen})`).toBeLessThanOrEqual(clen);
        expect(appReluRounds(alpha)).toBeLessThan(appReluRounds(alpha, { method: 'clenshaw' }));
      }
    }
  });

  it('keeps the shape, takes any fracBits of x, and an empty input', async () => {
    const ctx = Context.plain();
    const x = shareInput(ctx, 0, [-0.5, 0.25, 0.75, -1], [2, 2]);
    const y = await appRelu(ctx, x, { alpha: 9, bound: 1 });
    expect(y.shape).toEqual([2, 2]);
    expect(y.fracBits).toBe(16);
    const v = await reveal(ctx, y);
    [0, 0.25, 0.75, 0].forEach((r, i) => expect(Math.abs(v[i]! - r)).toBeLessThanOrEqual(2 ** -9));
    const x12 = shareInput(ctx, 0, [0.5], [1], 12);
    const y12 = await appRelu(ctx, x12, { alpha: 8, bound: 1 });
    expect(y12.fracBits).toBe(12);
    expect(Math.abs((await reveal(ctx, y12))[0]! - 0.5)).toBeLessThanOrEqual(2 ** -8);
    const empty = await appRelu(ctx, shareInput(ctx, 0, [], [0, 3]), { alpha: 9, bound: 1 });
    expect(empty.shape).toEqual([0, 3]);
  });
});

describe.each([
  ['2pc', 'local'],
  ['2pc', 'dealer'],
  ['3pc', 'local'],
  ['3pc', 'dealer'],
] as const)('%s sessions in one process, %s truncation', (mode, truncation) => {
  const F = 16;
  it.each([
    [8, 1, 'tree'],
    [12, 1, 'tree'],
    [10, 4, 'tree'],
    [9, 2, 'clenshaw'],
  ] as const)('alpha %i, B = %d (%s): both holders reveal the same, within the derived tolerance of the plaintext context; rounds = formula', async (alpha, bound, method) => {
    const values = mpcGrid(alpha, bound);
    const s = await localSession(truncation as TruncationMode, mode);
    let outs: (Float64Array | null)[];
    try {
      outs = mode === '3pc' ? await s.all((ctx) => runRelu(ctx, values, { alpha, bound, method })) : await s.both((ctx) => runRelu(ctx, values, { alpha, bound, method }));
      const rounds = appReluRounds(alpha, { truncation, bound, method });
      for (const h of s.holders) expect(h.profile()['appRelu'], `P${h.id}'s profile`).toMatchObject({ calls: 1, rounds });
    } finally {
      await s.close();
    }
    const [y0, y1] = outs as [Float64Array, Float64Array];
    expect(y0).toEqual(y1);
    const plain = (await runRelu(Context.plain({ fracBits: F, truncation }), values, { alpha, bound, method }))!;
    if (method === 'tree') {
      const xs = encoded(values, F);
      const { values: modelValues, deviation } = appReluModel(alpha, xs, F, bound);
      expect(maxAbsDiff(plain, modelValues)).toBe(0);
      let worst = 0;
      for (let i = 0; i < xs.length; i++) {
        const d = Math.abs(y0[i]! - plain[i]!) * 2 ** F;
        const tol = 1.1 * deviation[i]! + 2;
        if (d > tol) expect.fail(`x = ${xs[i]}: |mpc - plain| = ${d} ulp > ${tol.toFixed(1)}`);
        worst = Math.max(worst, d);
      }
      // the tolerance is not vacuous: at most ~65 B ulp (at t = -1), measured |mpc - plain| <= ~9 B ulp
      expect(Math.max(...deviation)).toBeLessThanOrEqual(70 * Math.max(bound, 1));
      expect(worst).toBeLessThanOrEqual(Math.max(...deviation));
    } else {
      // Clenshaw has no model: a flat 32 max(B, 1) ulp (measured <= 12 B ulp on the dense grid)
      expect(maxAbsDiff(y0, plain) * 2 ** F).toBeLessThanOrEqual(32 * Math.max(bound, 1));
    }
  }, 60_000);
});

describe('AppMax pooling', () => {
  const F = 16;
  const CASES: { alpha: number; bound: number; shape: number[]; window: number | [number, number]; stride?: number | [number, number]; padding?: 'valid' | 'same' }[] = [
    { alpha: 10, bound: 1, shape: [2, 3, 8, 8], window: 2 },
    { alpha: 10, bound: 4, shape: [2, 3, 9, 9], window: 3 },
    { alpha: 12, bound: 8, shape: [1, 4, 7, 7], window: [2, 3], stride: 1, padding: 'same' },
    { alpha: 8, bound: 2, shape: [1, 2, 8, 8], window: 4 },
    { alpha: 11, bound: 3, shape: [1, 2, 5, 7], window: 3, stride: 2, padding: 'same' },
  ];

  /** Random values in [-B, B], every third next to its predecessor (within 2 eps B: near-ties, where p is least exact). */
  function inputs(c: (typeof CASES)[number], seed: number): Float64Array {
    const rnd = lcg(seed);
    const n = c.shape.reduce((a, b) => a * b, 1);
    const eps = minimaxSign({ alpha: c.alpha }).eps;
    const v = Float64Array.from({ length: n }, () => (2 * rnd() - 1) * c.bound);
    for (let i = 1; i < n; i += 3) v[i] = Math.max(-c.bound, Math.min(c.bound, v[i - 1]! + (rnd() - 0.5) * 4 * eps * c.bound));
    return encoded(v, F);
  }

  function check(c: (typeof CASES)[number], xs: Float64Array, y: Float64Array, perLevel: number): void {
    const sign = minimaxSign({ alpha: c.alpha });
    const geo = maxPoolGeometry(c.shape, c.window, { ...(c.stride ? { stride: c.stride } : {}), ...(c.padding ? { padding: c.padding } : {}) });
    expect(y.length).toBe(geo.counts.length);
    let at = 0;
    for (let w = 0; w < geo.counts.length; w++) {
      const k = geo.counts[w]!;
      const members = Array.from(geo.members.subarray(at, at + k), (i) => xs[i]!);
      at += k;
      const bp = appMaxScale(c.alpha, k, c.bound);
      const tol = appMaxLevels(k) * perLevel * bp * 2 ** -F;
      const lib = appMaxScaled(sign, members, c.bound);
      if (!(Math.abs(y[w]! - lib) <= tol)) expect.fail(`window ${w} (${k} values): |out - appMaxScaled| = ${Math.abs(y[w]! - lib)} > ${tol}`);
      const theorem = bp * appMaxErrorBound(c.alpha, k);
      if (!(Math.abs(y[w]! - Math.max(...members)) <= theorem + tol)) expect.fail(`window ${w}: |out - max| = ${Math.abs(y[w]! - Math.max(...members))} > ${theorem} + ${tol}`);
    }
  }

  function maxCount(c: (typeof CASES)[number]): number {
    const geo = maxPoolGeometry(c.shape, c.window, { ...(c.stride ? { stride: c.stride } : {}), ...(c.padding ? { padding: c.padding } : {}) });
    return Math.max(...geo.counts);
  }

  const poolOpts = (c: (typeof CASES)[number]) => ({ alpha: c.alpha, bound: c.bound, ...(c.stride ? { stride: c.stride } : {}), ...(c.padding ? { padding: c.padding } : {}) });

  it.each(CASES.map((c, i) => [i, c] as const))('case %i: plaintext context within ceil(log2 n) 20 B\' ulp of appMaxScaled', async (i, c) => {
    const xs = inputs(c, 100 + i);
    const ctx = Context.plain({ fracBits: F });
    const y = await appMaxPool(ctx, shareInput(ctx, 0, xs, c.shape), c.window, poolOpts(c));
    check(c, xs, await reveal(ctx, y), 20);
  });

  it.each([
    ['2pc', 'local', 1],
    ['3pc', 'dealer', 2],
    ['3pc', 'local', 4],
  ] as const)('%s, %s truncation, case %i: within ceil(log2 n) 40 B\' ulp of appMaxScaled; rounds = appMaxRounds', async (mode, truncation, i) => {
    const c = CASES[i]!;
    const xs = inputs(c, 200 + i);
    const s = await localSession(truncation, mode);
    let outs: (Float64Array | Shared)[];
    try {
      outs = await s.all(async (ctx) => {
        const y = await appMaxPool(ctx, shareInput(ctx, 0, ctx.id === 0 ? xs : null, c.shape), c.window, poolOpts(c));
        return ctx.isHelper ? y : reveal(ctx, y);
      });
      const rounds = appMaxRounds(c.alpha, maxCount(c), { bound: c.bound, truncation });
      for (const h of s.holders) expect(h.profile()['appMaxPool']).toMatchObject({ calls: 1, rounds });
    } finally {
      await s.close();
    }
    const [y0, y1, p2] = outs as [Float64Array, Float64Array, Shared];
    expect(y0).toEqual(y1);
    expect(p2.held).toBe(false);
    expect(p2.shape).toEqual(maxPoolGeometry(c.shape, c.window, poolOpts(c)).outShape);
    check(c, xs, y0, 40);
  }, 60_000);

  it('a window of one value is that value; the output shape follows the geometry', async () => {
    const ctx = Context.plain({ fracBits: F });
    const xs = encoded(Float64Array.from({ length: 12 }, (_, i) => (i - 6) / 7), F);
    const y = await appMaxPool(ctx, shareInput(ctx, 0, xs, [1, 1, 3, 4]), 1, { alpha: 9, bound: 1 });
    expect(y.shape).toEqual([1, 1, 3, 4]);
    expect(await reveal(ctx, y)).toEqual(xs);
    expect(appMaxRounds(9, 1)).toBe(0);
  });
});

describe('bad parameters', () => {
  const ctx = Context.plain();
  const x = shareInput(ctx, 0, [0.1, -0.2], [2]);
  const later = (f: () => unknown): Promise<unknown> => Promise.resolve().then(f);

  it.each([3, 15, 10.5, NaN, -1])('alpha %d is outside the table', async (alpha) => {
    await expect(later(() => appRelu(ctx, x, { alpha, bound: 1 }))).rejects.toThrow(/appRelu: alpha must be an integer of the minimax table \(4\.\.14\)/);
    expect(() => appReluRounds(alpha)).toThrow(/alpha must be an integer of the minimax table/);
    await expect(later(() => appMaxPool(ctx, x.reshape([1, 1, 1, 2]), [1, 2], { alpha, bound: 1 }))).rejects.toThrow(/appMaxPool: alpha must be/);
  });

  it.each([0, -1, NaN, Infinity])('bound %d is not a positive finite number', async (bound) => {
    await expect(later(() => appRelu(ctx, x, { alpha: 10, bound }))).rejects.toThrow(/appRelu: bound B must be a finite number > 0/);
    await expect(later(() => appMaxPool(ctx, x.reshape([1, 1, 1, 2]), [1, 2], { alpha: 10, bound }))).rejects.toThrow(/appMaxPool: bound B must be a finite number > 0/);
    expect(() => appReluRounds(10, { bound })).toThrow(/bound B must be/);
  });

  it('an unknown method, a window too large for alpha, a non-4-D input', async () => {
    await expect(later(() => appRelu(ctx, x, { alpha: 10, bound: 1, method: 'horner' as AppReluMethod }))).rejects.toThrow(/method must be 'tree' or 'clenshaw'/);
    // 512 values: (ceil(log2 512) - 1) 2^-4 = 1/2 leaves no range for alpha 4
    const big = shareInput(ctx, 0, new Float64Array(512), [1, 1, 16, 32]);
    await expect(later(() => appMaxPool(ctx, big, [16, 32], { alpha: 4, bound: 1 }))).rejects.toThrow(/alpha 4 is too small for 512 values/);
    await expect(later(() => appMaxPool(ctx, x, 2, { alpha: 10, bound: 1 }))).rejects.toThrow(/expects \[N, C, H, W\]/);
  });
});
