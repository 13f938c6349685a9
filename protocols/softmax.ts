/**
 * Exponential, reciprocal and softmax for training (PROTOCOLS.md 7,
 * CrypTen style), elementwise / over the last axis, 2PC or 3PC.
 *
 * exp(x) ~ p(x / 2^n)^(2^n), n squarings (default 8), p a Taylor
 * polynomial of e^t: degree 1 is CrypTen's (1 + x / 2^n)^(2^n), whose
 * exponent is off by n log(1 + t) - x ~ -x^2 / 2^(n+1) (relative error
 * 1.06e-3 at x = -2, 10% at x = -7); degree 2 (default), 1 + t + t^2 / 2,
 * costs one more square (one round) and leaves x^3 / (6 4^n) (9e-4 at
 * x = -7, 4e-6 at x = -2, n = 8). t = x / 2^n is exact: x's shares read at f + n
 * fractional bits, then one truncation to f + g bits (g guard bits,
 * default 2); the squarings run at f + g bits so that the doubling of each
 * truncation's error (2^n in all) stays off the result, and a last
 * truncation returns to f bits. Valid for -2^n <= x <= 0, i.e. t in
 * [-1, 0]: below, the degree-1 base turns negative and the degree-2 base
 * (least 1/2 at t = -1) grows again, so the value is wrong, not small.
 * x > 0 works for small x, but every square then grows and so does the
 * chance that a local truncation wraps: about y^2 2^(2(f+g)-64) per square
 * of y (2^-28 for y <= 1 at f = 16, g = 2). Fixed-point noise about 2^(n+1-f-g) relative (2e-3 at
 * f = 16, n = 8, g = 2). Measured over [-16, 0] (f = 16, plaintext, max
 * ulps; bench/division-error.ts): degree 1: n = 6 282, n = 8 89; degree 2:
 * n = 5 19, n = 6 36, n = 8 89 (noise-bound: fewer squarings are more
 * precise but narrow the domain to [-2^n, 0]); degree 2 with g = 4: n = 6
 * 9.3, n = 8 29. n (+1) rounds, 8 bytes per element each.
 *
 * reciprocal(x) for x in a public [min, max]: Newton y <- y (2 - x y) from
 * the minimax-relative linear guess (src/approx/newton-init.ts); the error
 * squares every step from (R - 1)^2 / (R^2 + 6R + 1), R = max / min
 * (0.503 for [1, 10]). Default: the fewest steps reaching 2^-(f-2)
 * (4 for [1, 10] at f = 16). 2 rounds and 32 bytes per element per step.
 *
 * softmax over the last axis (length K): exp(u) / sum exp(u) for a
 * shifted u = x - m (same softmax), then one reciprocal per row and one
 * product:
 *  - shift 'max' (3PC): m = the row max by the ReLU tournament of
 *    protocols/maxpool.ts (2 ceil(log2 K) rounds), so u <= 0 and the row
 *    sum is in [1, K]. Needs row spreads < 2^n and < 2^(lx/2).
 *  - shift 'appmax' (2PC or 3PC, Beaver products only): m = the row's
 *    AppMax (protocols/app-max.ts) for logits in a public [-B, B], within
 *    eps = B' ceil(log2 K) 2^-alpha of the max, so u <= eps and the row
 *    sum is in [e^-eps, K e^eps] whatever the spread (up to 2B). Logits
 *    outside [-B, B] break it (the composite polynomial diverges), so B is
 *    a generous public bound (32 for the seed CNN); alpha 10 costs
 *    ceil(log2 K) AppReLU calls (44 rounds for K = 10).
 *  - shift 'mean' (any mode, no comparison): m = mean + D with the public
 *    D = spread (K - 1) / K, for a public bound `spread` >= max - min of
 *    every row; then u in [-2D, 0] and the row sum is in [K e^-D, K] (the
 *    lower end by convexity: the u average -D): a wider reciprocal range,
 *    so more Newton steps, and when the bound is loose every exp(u) is
 *    small, so its f + g bits carry less relative precision.
 * Precision (max |y - softmax| in ulps, f = 16, 10 classes, defaults;
 * test/helpers/nonlinear-cases.ts): 'max' shift, logits spread 16: 36
 * plaintext, <= 30 in 3PC; 'mean' shift, spread 8: 135 plaintext, <= 125
 * in 2PC / 3PC; 'appmax' shift (B 32), spread 24: 29 plaintext, <= 23 in
 * 2PC / 3PC. reciprocal on [1, 10] (4 steps): 2 ulps. Cost: 'max'
 * 27 rounds, 'mean' 32 rounds (local truncation).
 */
import { checkInterval, iterationsFor, reciprocalError, reciprocalGuess, type Interval } from '../src/approx/newton-init.js';
import type { Context } from '../src/mpc/context.js';
import type { Shared } from '../src/mpc/shared.js';
import { appMaxScale } from '../src/approx/app-max.js';
import { appMaxLevels, appMaxPool } from './app-max.js';
import { mul, square } from './beaver.js';
import { checkIterations, linearGuess } from './division.js';
import { add, addPublicScalar, mulPublicScalar, neg, sub } from './linear.js';
import { maxPool2d } from './maxpool.js';
import type { PositiveRange } from './range-normalisation.js';
import { repeatPerRow, sumRows } from './share-layout.js';
import { truncate } from './truncation.js';

export interface ExpOptions {
  /** n: exp(x) ~ p(x / 2^n)^(2^n) (default 8, CrypTen's). */
  squarings?: number;
  /** Degree of p, the Taylor polynomial of e^t: 1 (CrypTen's 1 + t) or 2 (default, 1 + t + t^2 / 2). */
  degree?: 1 | 2;
  /** Extra fractional bits of the squarings, 0..n (default 2). */
  guardBits?: number;
}

export interface ReciprocalOptions {
  /** Public bound: 0 < min <= x <= max. */
  range: PositiveRange;
  /** Newton steps (default: the fewest whose error is <= 2^-(f-2)). */
  iterations?: number;
}

export type SoftmaxShift =
  /** 3PC: subtract the row max (truncation ReLU tournament with these sign-test bits). */
  | { kind: 'max'; lx: number; skip?: number }
  /** Any mode: subtract the row's AppMax, for logits in the public [-bound, bound] (alpha default 10). */
  | { kind: 'appmax'; bound: number; alpha?: number }
  /** Any mode: subtract the row mean plus spread (K - 1) / K; spread is a public bound on max - min per row. */
  | { kind: 'mean'; spread: number };

export interface SoftmaxOptions {
  shift: SoftmaxShift;
  exp?: ExpOptions;
  /** Newton steps of the row sums' reciprocal (default from its range). */
  reciprocalIterations?: number;
}

export const DEFAULT_SQUARINGS = 8;
export const DEFAULT_GUARD_BITS = 2;

function expParams(opts: ExpOptions): Required<ExpOptions> {
  const n = opts.squarings ?? DEFAULT_SQUARINGS;
  const g = opts.guardBits ?? Math.min(DEFAULT_GUARD_BITS, n);
  const degree = opts.degree ?? 2;
  if (!Number.isInteger(n) || n < 0 || n > 20) throw new RangeError(`exp: squarings must be an integer in [0, 20], got ${n}`);
  if (!Number.isInteger(g) || g < 0 || g > n) throw new RangeError(`exp: guardBits must be an integer in [0, squarings = ${n}], got ${g}`);
  if (degree !== 1 && degree !== 2) throw new RangeError(`exp: degree must be 1 or 2, got ${JSON.stringify(degree)}`);
  return { squarings: n, guardBits: g, degree };
}

/** exp(x) elementwise for -2^n <= x <= 0 (see the header). */
export function exp(ctx: Context, x: Shared, opts: ExpOptions = {}): Promise<Shared> {
  return ctx.call('exp', async (c) => {
    const { squarings: n, guardBits: g, degree } = expParams(opts);
    const f = x.fracBits;
    // t = x / 2^n read exactly at f + n bits, then down to f + g.
    const t = await truncate(c, x.with(x.share, f + n), n - g);
    let y = addPublicScalar(c, t, 1);
    if (degree === 2) {
      const t2 = await square(c, t);
      y = add(y, await truncate(c, t2.with(t2.share, t2.fracBits + 1), 1)); // + t^2 / 2
    }
    for (let i = 0; i < n; i++) y = await square(c, y);
    return truncate(c, y, g);
  });
}

/** Default Newton steps of the reciprocal on [min, max]. */
export function defaultReciprocalIterations(interval: Interval, fracBits: number): number {
  return iterationsFor((k) => reciprocalError(reciprocalGuess(interval).error, k), 2 ** -(fracBits - 2), 'reciprocal');
}

async function reciprocalNewton(c: Context, x: Shared, interval: Interval, iterations: number): Promise<Shared> {
  let y = await linearGuess(c, x, reciprocalGuess(interval));
  for (let i = 0; i < iterations; i++) {
    const xy = await mul(c, x, y);
    y = await mul(c, y, addPublicScalar(c, neg(xy), 2)); // y (2 - x y)
  }
  return y;
}

function rangeInterval(range: PositiveRange): Interval {
  const interval: Interval = [range.min, range.max];
  checkInterval(interval, 'reciprocal range');
  return interval;
}

/** 1 / x elementwise for x in opts.range (public); nothing is revealed. */
export function reciprocal(ctx: Context, x: Shared, opts: ReciprocalOptions): Promise<Shared> {
  return ctx.call('reciprocal', (c) => {
    const interval = rangeInterval(opts.range);
    const k = opts.iterations === undefined ? defaultReciprocalIterations(interval, x.fracBits) : checkIterations(opts.iterations, 'reciprocal');
    return reciprocalNewton(c, x, interval, k);
  });
}

export const DEFAULT_SOFTMAX_APPMAX_ALPHA = 10;

/** How far the 'appmax' shift may be from the row max: AppMax's bound plus a margin for fixed-point noise. */
export function appMaxShiftError(shift: { bound: number; alpha?: number }, k: number): number {
  const alpha = shift.alpha ?? DEFAULT_SOFTMAX_APPMAX_ALPHA;
  return appMaxScale(alpha, k, shift.bound) * appMaxLevels(k) * 2 ** -alpha + 2 ** -8;
}

/** The public range of a row's sum of exp(u) under a shift, for K classes. */
export function softmaxSumRange(shift: SoftmaxShift, k: number): PositiveRange {
  if (shift.kind === 'max') return { min: 1, max: k };
  if (shift.kind === 'appmax') {
    const eps = appMaxShiftError(shift, k);
    return { min: Math.exp(-eps), max: k * Math.exp(eps) };
  }
  return { min: k * Math.exp(-(shift.spread * (k - 1)) / k), max: k };
}

/** softmax over the last axis of x (any shape; rows of K = the last dimension). */
export function softmax(ctx: Context, x: Shared, opts: SoftmaxOptions): Promise<Shared> {
  return ctx.call('softmax', async (c) => {
    const k = x.shape[x.shape.length - 1];
    if (k === undefined || k < 1) throw new RangeError(`softmax: x needs a non-empty last axis, got shape [${x.shape.join(', ')}]`);
    const { shift } = opts;
    if (shift.kind === 'mean' && (!(shift.spread >= 0) || !Number.isFinite(shift.spread))) throw new RangeError(`softmax: spread must be a finite number >= 0, got ${shift.spread}`);
    if (shift.kind === 'appmax' && (!(shift.bound > 0) || !Number.isFinite(shift.bound))) throw new RangeError(`softmax: the AppMax logit bound must be a finite number > 0, got ${shift.bound}`);
    if (shift.kind !== 'mean' && shift.kind !== 'max' && shift.kind !== 'appmax') throw new RangeError(`softmax: shift must be {kind: 'max', lx}, {kind: 'appmax', bound} or {kind: 'mean', spread}`);
    const expOpts = expParams(opts.exp ?? {});
    const sumInterval = rangeInterval(softmaxSumRange(shift, k));
    const iterations = opts.reciprocalIterations === undefined ? defaultReciprocalIterations(sumInterval, x.fracBits) : checkIterations(opts.reciprocalIterations, 'softmax reciprocal');
    const f = x.fracBits;
    const rows = x.size / k;
    let m: Shared;
    if (shift.kind === 'max') {
      const pooled = await maxPool2d(c, x.reshape([rows, 1, 1, k]), [1, k], { lx: shift.lx, skip: shift.skip ?? 0 });
      m = pooled.reshape([rows]);
    } else if (shift.kind === 'appmax') {
      // u = x - m lies in [-2B - eps, eps]: exp needs it above -2^n.
      const low = 2 * shift.bound + appMaxShiftError(shift, k);
      if (low > 2 ** expOpts.squarings) throw new RangeError(`softmax: logits in [-${shift.bound}, ${shift.bound}] need exp on [-${low.toFixed(1)}, 0], beyond its 2^${expOpts.squarings} squarings`);
      c.noteRange(`softmax logits (public bound ${shift.bound}, --logit-bound)`, x, -shift.bound, shift.bound);
      const pooled = await appMaxPool(c, x.reshape([rows, 1, 1, k]), [1, k], { alpha: shift.alpha ?? DEFAULT_SOFTMAX_APPMAX_ALPHA, bound: shift.bound });
      m = pooled.reshape([rows]);
    } else {
      const sum = sumRows(x, k);
      m = addPublicScalar(c, await truncate(c, mulPublicScalar(c, sum, 1 / k, f), f), (shift.spread * (k - 1)) / k);
    }
    const u = sub(x, repeatPerRow(m, x.shape));
    const e = await exp(c, u, expOpts);
    const r = await reciprocalNewton(c, sumRows(e, k), sumInterval, iterations);
    return mul(c, e, repeatPerRow(r, x.shape));
  });
}

