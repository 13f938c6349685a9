/**
 * Division, square root, inverse square root, exponential, reciprocal and
 * softmax (protocols/division.ts, protocols/sqrt.ts, protocols/softmax.ts,
 * protocols/range-normalisation.ts): the initial guesses' closed forms, the
 * plaintext context against float64, and 2- and 3-party sessions in one
 * process (real processes: test/mpc-division.test.ts), with the error
 * bounds of test/helpers/nonlinear-cases.ts (f = 16; measured maxima in
 * the task report and results/division-error/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDivisionIterations, divide } from '../protocols/division.js';
import { normalise, octaveTest, octaveSpan } from '../protocols/range-normalisation.js';
import { reveal, shareInput } from '../protocols/sharing.js';
import { exp, reciprocal, softmax } from '../protocols/softmax.js';
import { defaultRsqrtIterations, defaultSqrtIterations, rsqrt, sqrt, sqrtDivision } from '../protocols/sqrt.js';
import {
  divisionError,
  divisionGuess,
  reciprocalGuess,
  rsqrtError,
  rsqrtGuess,
  SEED_RECIPROCAL,
  SEED_SQRT,
  sqrtGuess,
  sqrtGuessMinimax,
  type Interval,
} from '../src/approx/newton-init.js';
import { nonlinearCheck, parseNonlinearCheckJob } from '../src/jobs/nonlinear-check.js';
import { Context, type TruncationMode } from '../src/mpc/context.js';
import type { Shared } from '../src/mpc/shared.js';
import { F, maxErrorUlps, OCTAVE, PUBLIC, privateCases, publicCases, ULP, WIDE, type CheckCase } from './helpers/nonlinear-cases.js';
import { localSession, type LocalSession } from './helpers/local-session.js';

function sample(interval: Interval, f: (x: number) => number, n = 100_001): number {
  const [l, h] = interval;
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(f(l + ((h - l) * i) / (n - 1))));
  return m;
}

describe('initial guesses (src/approx/newton-init.ts)', () => {
  it("the seed's constants: |1 - b (2.9142 - 2b)| <= 0.0858 and 0.5480842735 a + 0.3875541065 within 7.82% of sqrt on [0.5, 1]", () => {
    expect(sample([0.5, 1], (b) => 1 - b * (SEED_RECIPROCAL.c0 - SEED_RECIPROCAL.c1 * b))).toBeCloseTo(0.0858, 4);
    expect(sample([0.5, 1], (a) => (SEED_SQRT.a * a + SEED_SQRT.b) / Math.sqrt(a) - 1)).toBeCloseTo(SEED_SQRT.error, 4);
    expect(divisionGuess([0.5, 1])).toBe(SEED_RECIPROCAL);
    expect(divisionGuess([0.6, 0.9])).toBe(SEED_RECIPROCAL);
    expect(sqrtGuess([0.5, 1])).toBe(SEED_SQRT);
  });

  it.each([[[0.5, 1]], [[1, 10]], [[1 / 32, 0.5]], [[0.7, 0.71]]] as [Interval][])('the minimax-relative guesses on %j reach exactly their stated worst error', (interval) => {
    const r = reciprocalGuess(interval);
    expect(sample(interval, (x) => 1 - x * (r.c0 - r.c1 * x))).toBeCloseTo(r.error, 6);
    const s = sqrtGuessMinimax(interval);
    expect(sample(interval, (x) => (s.a * x + s.b) / Math.sqrt(x) - 1)).toBeCloseTo(s.error, 6);
    if (interval[0] < 0.5 || interval[1] > 1) {
      const q = rsqrtGuess(interval);
      expect(sample(interval, (x) => 1 - Math.sqrt(x) * (q.c0 - q.c1 * x))).toBeCloseTo(q.error, 6);
    }
    // (R - 1)^2 / (R^2 + 6R + 1)
    const R = interval[1] / interval[0];
    expect(r.error).toBeCloseTo((R - 1) ** 2 / (R * R + 6 * R + 1), 12);
  });

  it('1/sqrt on [0.5, 1]: 1.7877 - 0.8100 x within 2.23%; iteration counts follow the convergence formulas', () => {
    const q = rsqrtGuess([0.5, 1]);
    expect(q.c0).toBeCloseTo(1.7877, 4);
    expect(q.c1).toBeCloseTo(0.81, 4);
    expect(q.error).toBeCloseTo(0.0223, 4);
    // Algorithm 2 in float64 at b = 1 (eps0 = 0.0858): relative error eps0^(2^(k+1)).
    for (const k of [0, 1, 2]) {
      const b = 1;
      const w0 = 2.9142 - 2 * b;
      let eps = 1 - b * w0;
      let x = w0 * (1 + eps);
      for (let i = 0; i < k; i++) {
        eps *= eps;
        x *= 1 + eps;
      }
      expect(Math.abs(1 - x * b)).toBeCloseTo(divisionError(0.0858, k), 12);
    }
    expect(rsqrtError(0.0223, 2)).toBeLessThan(2 ** -18);
    // Defaults at f = 16: the seed's 1 division iteration on [0.5, 1) and 4 sqrt steps; 2 rsqrt steps.
    expect(defaultDivisionIterations(divisionGuess([0.5, 1]), 16)).toBe(1);
    expect(defaultDivisionIterations(divisionGuess([1 / 32, 0.5]), 16)).toBe(4);
    expect(defaultSqrtIterations([0.5, 1], 'seed', 16)).toBe(4);
    expect(sqrtDivision([0.5, 1], 'seed', 4, 16)).toEqual({ guess: SEED_RECIPROCAL, iterations: 1 });
    expect(defaultSqrtIterations([0.5, 1], 'minimax', 16)).toBe(1);
    expect(defaultRsqrtIterations([0.5, 1], 16)).toBe(2);
  });
});

/** Shares x (and a) on P0, runs `op`, reveals (P2: empty). */
async function run(ctx: Context, values: number[], op: (x: Shared) => Promise<Shared>): Promise<number[]> {
  const x = shareInput(ctx, 0, ctx.id === 0 ? values : null, [values.length]);
  return Array.from(await reveal(ctx, await op(x)));
}

function checkCases(label: string, cases: CheckCase[], outputs: { output: number[] }[], bound: 'plainUlps' | 'mpcUlps'): void {
  cases.forEach((c, i) => {
    expect(maxErrorUlps(outputs[i]!.output, c.reference), `${label}: ${c.name}`).toBeLessThanOrEqual(c[bound]);
  });
}

describe('plaintext context against float64', () => {
  const ctx = Context.plain({ fracBits: F });

  it('every public-bound case and every private-normalisation case within its stated bound (2000 points per range)', async () => {
    for (const cases of [publicCases(2000), privateCases(2000)]) {
      const out = await nonlinearCheck(ctx, { kind: 'nonlinear-check', cases: cases.map((c) => c.spec) });
      checkCases('plain', cases, out, 'plainUlps');
    }
  });

  it('private normalisation: every x in [2^-6, 2^6] on a grid (powers of two and their neighbours too) lands in [0.5, 1) with exact 2^(p e) factors', async () => {
    const xs: number[] = [];
    for (let j = -6; j < 6; j++) for (const v of [2 ** j, 2 ** j + ULP, 2 ** (j + 1) - ULP, 1.5 * 2 ** j]) xs.push(v);
    const range = { min: 2 ** -6, max: 2 ** 6 - ULP };
    expect(octaveTest(octaveSpan(range, F), F)).toEqual({ lx: 22, dropBits: 0 }); // exact comparisons
    const got = await ctx.call('t', async (c) => {
      const x = shareInput(c, 0, xs, [xs.length]);
      const norm = await normalise(c, x, { range, normalisation: 'private' });
      const [scaled, up, down] = await Promise.all([reveal(c, norm.scaled), norm.rescale(c, norm.scaled, 0.5).then((v) => reveal(c, v)), norm.rescale(c, norm.scaled, -1).then((v) => reveal(c, v))]);
      return { scaled, up, down };
    });
    xs.forEach((x, i) => {
      const e = Math.floor(Math.log2(x)) + 1;
      expect(got.scaled[i], `x = ${x}`).toBeGreaterThanOrEqual(0.5 - ULP);
      expect(got.scaled[i]).toBeLessThan(1);
      expect(Math.abs(got.scaled[i]! - x * 2 ** -e)).toBeLessThanOrEqual(ULP);
      expect(Math.abs(got.up[i]! - got.scaled[i]! * 2 ** (e / 2))).toBeLessThanOrEqual(2 ** (e / 2) * ULP + ULP);
      expect(Math.abs(got.down[i]! - got.scaled[i]! * 2 ** -e)).toBeLessThanOrEqual(ULP);
    });
  });

  it('more iterations never hurt once converged, and the seed settings are the defaults', async () => {
    const b = publicCases(500)[0]!;
    const errs = [];
    for (const k of [0, 1, 2, 3]) {
      const [o] = await nonlinearCheck(ctx, { kind: 'nonlinear-check', cases: [{ ...b.spec, iterations: k }] });
      errs.push(maxErrorUlps(o!.output, b.reference));
    }
    expect(errs[0]).toBeGreaterThan(100); // eps0^2 = 0.74%
    expect(errs[1]).toBeLessThanOrEqual(b.plainUlps);
    expect(errs[3]).toBeLessThanOrEqual(b.plainUlps);
    const [d] = await nonlinearCheck(ctx, { kind: 'nonlinear-check', cases: [b.spec] });
    const [d1] = await nonlinearCheck(ctx, { kind: 'nonlinear-check', cases: [{ ...b.spec, iterations: 1 }] });
    expect(d!.output).toEqual(d1!.output);
  });

  it("exp: CrypTen's degree-1 base is off by ~x^2 / 2^(n+1) relative; the degree-2 base removes it", async () => {
    const xs = [-7, -5, -4, -2];
    const one = await run(ctx, xs, (x) => exp(ctx, x, { degree: 1 }));
    const two = await run(ctx, xs, (x) => exp(ctx, x));
    xs.forEach((x, i) => {
      const rel1 = (one[i]! - Math.exp(x)) / Math.exp(x);
      expect(rel1, `degree 1 at ${x}`).toBeCloseTo(-(x * x) / 512, 2);
      expect(rel1, `degree 1 at ${x}`).toBeLessThan(-(x * x) / 1024);
      expect(Math.abs(two[i]! - Math.exp(x)), `degree 2 at ${x}`).toBeLessThanOrEqual(20 * ULP);
    });
  });
});

describe.each([
  ['2pc', 'local'],
  ['2pc', 'dealer'],
  ['3pc', 'local'],
  ['3pc', 'dealer'],
] as [('2pc' | '3pc'), TruncationMode][])('%s sessions in one process, %s truncation', (mode, truncation) => {
  let s: LocalSession;
  beforeAll(async () => {
    s = await localSession(truncation, mode);
  });
  afterAll(async () => {
    await s.close();
  });
  const all = <T>(program: (ctx: Context) => Promise<T>): Promise<T[]> => (mode === '3pc' ? s.all(program) : s.both(program));

  it('public-bound cases within the MPC bounds; both holders get the same values', async () => {
    const cases = publicCases(600);
    const job = { kind: 'nonlinear-check' as const, cases: cases.map((c) => c.spec) };
    const [p0, p1] = await all((ctx) => nonlinearCheck(ctx, job));
    checkCases(`${mode} ${truncation}`, cases, p0!, 'mpcUlps');
    expect(p1!.map((o) => o.output)).toEqual(p0!.map((o) => o.output));
  });

  if (mode === '3pc') {
    it('private-normalisation cases and the max-shift softmax within the MPC bounds; P2 learns nothing it returns', async () => {
      const cases = privateCases(600);
      const job = { kind: 'nonlinear-check' as const, cases: cases.map((c) => c.spec) };
      const [p0, , p2] = await all((ctx) => nonlinearCheck(ctx, job));
      checkCases(`${mode} ${truncation}`, cases, p0!, 'mpcUlps');
      expect(p2!.every((o) => o.output.length === 0)).toBe(true);
    });
  } else {
    it('private normalisation over several octaves is refused in 2PC with a clear error; one octave needs no comparison', async () => {
      const xs = [0.6, 3];
      await expect(all((ctx) => run(ctx, xs, (x) => divide(ctx, x, x, { range: { min: 0.5, max: 4 }, normalisation: 'private' })))).rejects.toThrow(/3 parties.*'public'/);
      const [q] = await all((ctx) => run(ctx, [0.6, 0.8], (x) => rsqrt(ctx, x, { range: OCTAVE, normalisation: 'private' })));
      expect(Math.abs(q![0]! - 1 / Math.sqrt(0.6))).toBeLessThan(8 * ULP);
    });
  }
});

describe.each(['2pc', '3pc'] as const)('cost in a fresh %s session (local truncation)', (mode) => {
  it('Algorithm 2 with k iterations costs k + 2 rounds on [0.5, 1) and 48 + 24k bytes per element per holder', async () => {
    const s = await localSession('local', mode);
    try {
      const xs = [0.5, 0.75, 0.99];
      for (const k of [0, 1, 3]) {
        const job = { kind: 'nonlinear-check' as const, cases: [{ op: 'divide' as const, x: xs, a: xs, range: OCTAVE, normalisation: 'public' as const, iterations: k }] };
        const [p0, p1] = mode === '3pc' ? await s.all((ctx) => nonlinearCheck(ctx, job)) : await s.both((ctx) => nonlinearCheck(ctx, job));
        expect([p0![0]!.rounds, p1![0]!.rounds]).toEqual([k + 2, k + 2]);
        expect(p0![0]!.bytesSent).toBe((48 + 24 * k) * xs.length);
        for (const v of p0![0]!.output) expect(Math.abs(v - 1)).toBeLessThan(k === 0 ? 0.01 : 8 * ULP);
      }
    } finally {
      await s.close();
    }
  });
});

describe('public bounds in the plaintext context', () => {
  it('notes values past the logit bound and the division / square-root ranges, and nothing within them', async () => {
    const ctx = Context.plain({ fracBits: F });
    const logits = [0.5, -3, 2.5, 1, 9, -0.25];
    await run(ctx, logits, (x) => softmax(ctx, x.reshape([2, 3]), { shift: { kind: 'appmax', bound: 4 } }));
    await run(ctx, [0.3, 2, 15], (x) => rsqrt(ctx, x, { range: { min: 0.25, max: 16 }, normalisation: 'public' }));
    expect(ctx.boundExcesses).toEqual([{ what: 'softmax logits (public bound 4, --logit-bound)', lo: -4, hi: 4, min: -3, max: 9, outside: 1 }]);
    await run(ctx, [0.125, 2], (x) => rsqrt(ctx, x, { range: { min: 0.25, max: 16 }, normalisation: 'public' }));
    expect(ctx.boundExcesses[1]).toEqual({ what: 'input of a division or square root (public range [0.25, 16])', lo: 0.25, hi: 16, min: 0.125, max: 15, outside: 1 });
  });
});

describe('options and errors', () => {
  const ctx = Context.plain({ fracBits: F });
  it('bad ranges, iteration counts and exp / softmax options are refused with errors naming them', async () => {
    const x = shareInput(ctx, 0, [0.7], [1]);
    await expect(divide(ctx, x, x, { range: { min: 0, max: 1 }, normalisation: 'public' })).rejects.toThrow(/0 < min <= max/);
    await expect(divide(ctx, x, x, { range: { min: 2 ** -20, max: 1 }, normalisation: 'public' })).rejects.toThrow(/below one ulp/);
    await expect(sqrt(ctx, x, { range: { min: 2 ** -10, max: 2 ** 12 }, normalisation: 'private' })).rejects.toThrow(/narrow the range/);
    await expect(divide(ctx, x, x, { range: OCTAVE, normalisation: 'public', iterations: -1 })).rejects.toThrow(/iterations/);
    await expect(rsqrt(ctx, x, { range: OCTAVE, normalisation: 'secret' as 'public' })).rejects.toThrow(/normalisation must be/);
    await expect(exp(ctx, x, { squarings: 4, guardBits: 5 })).rejects.toThrow(/guardBits/);
    await expect(reciprocal(ctx, x, { range: { min: 2, max: 1 } })).rejects.toThrow(/interval/);
    await expect(softmax(ctx, x, { shift: { kind: 'mean', spread: -1 } })).rejects.toThrow(/spread/);
    expect(() => parseNonlinearCheckJob({ cases: [{ op: 'divide', x: [1], a: [1, 2] }] })).toThrow(/numerators/);
    expect(() => parseNonlinearCheckJob({ cases: [{ op: 'cbrt', x: [1] }] })).toThrow(/not one of/);
  });

  it('private range normalisation: the comparison width and resolution follow the range', () => {
    expect(octaveTest(octaveSpan(WIDE, 16), 16)).toEqual({ lx: 23, dropBits: 3 }); // 26 bits needed, 23 tested; 2^-13 resolution vs threshold 2^-5
    expect(octaveSpan(PUBLIC, 16)).toEqual({ lo: -2, hi: 2 });
  });
});
