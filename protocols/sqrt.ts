/**
 * Private square root and inverse square root of x > 0 in a public range
 * (PROTOCOLS.md 5), elementwise, 2PC or 3PC. x is normalised to
 * x' = x 2^-e first (protocols/range-normalisation.ts); then
 * sqrt(x) = sqrt(x') 2^(e/2) and 1/sqrt(x) = 1/sqrt(x') 2^(-e/2). For an
 * odd e the factor is irrational: in 3PC the one-hot of the octave carries
 * it (constants with f + 1 bits, one more Beaver product), in 2PC it is a
 * public constant.
 *
 * sqrt: the seed's Algorithm 3 (mpc-cnn-batchnorm-ppoly.txt 3.2.2):
 *   s0 = 0.5480842735 x' + 0.3875541065, s <- (s + x' / s) / 2,
 * each step one Algorithm 2 division (protocols/division.ts) whose
 * denominator s stays in [0.66, 1.004] on [0.5, 1), inside the range its
 * initial guess converges on. The seed's start is 6.4-7.8% below sqrt on
 * [0.5, 1); 'minimax' (x0 = 0.590 x' + 0.417, within 0.75%) saves an
 * iteration. Rounds per step: the division's k + 2.
 *
 * rsqrt: Newton for 1/sqrt, no division:
 *   y0 = c0 - c1 x' (minimax relative, 1.7877 - 0.8100 x' on [0.5, 1): 2.2%),
 *   y <- y + (y - x' y^3) / 2,
 * with y^2 and x' y in one round and x' y^3 = (x' y) y^2 in the next:
 * 2 rounds and 3 products per step. Relative error 1.5 e^2 per step:
 * 2.2% -> 7.4e-4 -> 8.3e-7, so 2 steps reach the f = 16 floor.
 *
 * Precision (max / mean of |y - r| / max(1, |r|) in ulps 2^-f against
 * float64 over the range; plaintext context, f = 16, bench/division-error.ts,
 * results/division-error/):
 *   sqrt, seed start, x in [0.5, 1):  0 steps 4495, 1: 186, 2: 3.5 / 1.0, 4 (default): 3.5 / 1.2;
 *   sqrt, minimax start:              0 steps 490, 1 (its default): 2.0 / 0.6;
 *   sqrt, [2^-6, 2^10) private:       4 steps 4.1 / 1.5;   [0.25, 4] public bound: 14 / 5.3;
 *   rsqrt, x in [0.5, 1):             0 steps 1460, 1: 49, 2 (default): 1.4 / 0.5;
 *   rsqrt, [2^-6, 2^10) private:      2 steps 1.2 / 0.4;   [0.25, 4] public bound (4 steps): 17 / 2.6.
 * So the seed's 4 steps are 2 more than the error needs; the fixed-point
 * floor comes from the divisions' bias (sqrtDivision) and the truncations.
 * With a wide public range (2PC) the guesses are fitted to the whole
 * normalised interval and the defaults add iterations; the relative
 * precision of small x' is 2^-f / x', which bounds what any iteration count
 * reaches. 2PC and 3PC runs stay within 1.2x of these plus an ulp
 * (test/division-math.test.ts, test/mpc-division.test.ts).
 * Cost with local truncation, [0.5, 1): sqrt (seed) 12 rounds and 288 bytes
 * per element from each holder; rsqrt 4 rounds, 80 bytes; the private
 * normalisation adds 3 rounds, its DReLUs, and one product for the factor.
 */
import {
  checkInterval,
  iterationsFor,
  rsqrtError,
  rsqrtGuess,
  sqrtError,
  divisionError,
  reciprocalGuess,
  reciprocalGuessError,
  SEED_RECIPROCAL,
  SEED_SQRT,
  sqrtGuess,
  type Interval,
  type LinearGuess,
  type SqrtInitial,
} from '../src/approx/newton-init.js';
import type { Context } from '../src/mpc/context.js';
import type { Shared } from '../src/mpc/shared.js';
import { mul, square } from './beaver.js';
import { checkIterations, goldschmidt, linearGuess } from './division.js';
import { add, addPublicScalar, mulPublicScalar, sub } from './linear.js';
import { normalise, type NormalisationOptions } from './range-normalisation.js';
import { truncate } from './truncation.js';

/** The seed's setting (4.3): 4 Newton steps (and 1 division iteration each, which sqrtDivision gives at f = 16). */
export const SEED_SQRT_ITERATIONS = 4;

export interface SqrtOptions extends NormalisationOptions {
  /** Newton steps of Algorithm 3 (default: the seed's 4 with its start, or more if a wide public interval needs them; see defaultSqrtIterations). */
  iterations?: number;
  /** Algorithm 2 iterations inside each step (default: see sqrtDivision; the seed's 1 at f = 16). */
  divisionIterations?: number;
  /** 'seed' (Algorithm 3's constants, default) or 'minimax'; both fitted to [0.5, 1] only when the interval lies inside it. */
  initial?: SqrtInitial;
}

export interface RsqrtOptions extends NormalisationOptions {
  /** Newton steps (default: the fewest whose error is <= 2^-(f-2); 2 on [0.5, 1) at f = 16). */
  iterations?: number;
}

/** v / 2 at v's scale: a reinterpretation plus one truncation. */
function half(c: Context, v: Shared): Promise<Shared> {
  return truncate(c, v.with(v.share, v.fracBits + 1), 1);
}

/**
 * Where Algorithm 3's iterates s_i go for x' in `interval`: their float64
 * trajectory on a grid, padded by 1%. Public: it fixes the divisions' guess.
 */
export function sqrtDenominators(interval: Interval, initial: SqrtInitial, iterations: number): Interval {
  checkInterval(interval, 'sqrt');
  const g = sqrtGuess(interval, initial);
  const [l, h] = interval;
  let lo = Infinity;
  let hi = 0;
  for (let i = 0; i <= 256; i++) {
    const x = l + ((h - l) * i) / 256;
    let s = g.a * x + g.b;
    for (let k = 0; k < iterations; k++) {
      lo = Math.min(lo, s);
      hi = Math.max(hi, s);
      s = (s + x / s) / 2;
    }
  }
  return iterations === 0 ? [1, 1] : [lo / 1.01, hi * 1.01];
}

/**
 * Default Newton steps of Algorithm 3: the seed's 4 with its start ('seed'),
 * otherwise the fewest whose error is <= 2^-(f-2) from the start's worst
 * ratio s0 / sqrt(x) (at least 1).
 */
export function defaultSqrtIterations(interval: Interval, initial: SqrtInitial, fracBits: number): number {
  const g = sqrtGuess(interval, initial);
  // s0 / sqrt(x) = a t + b / t, t = sqrt(x): largest at an end, least at t^2 = b / a when inside.
  const [tl, th] = [Math.sqrt(interval[0]), Math.sqrt(interval[1])];
  const ends = [g.a * tl + g.b / tl, g.a * th + g.b / th];
  const inside = g.b / g.a > interval[0] && g.b / g.a < interval[1];
  const ratios: Interval = [Math.min(...ends, inside ? 2 * Math.sqrt(g.a * g.b) : Infinity), Math.max(...ends)];
  const needed = iterationsFor((k) => sqrtError(ratios, k), 2 ** -(fracBits - 2), 'sqrt', 1);
  return g === SEED_SQRT ? Math.max(SEED_SQRT_ITERATIONS, needed) : needed;
}

/**
 * The divisions inside Algorithm 3: the seed's w0 = 2.9142 - 2s with the
 * seed's start, otherwise the minimax guess on the iterates' interval. A
 * relative error d of the quotient moves the root's fixed point by d / 2,
 * so the default iterations are the fewest (at least 1) whose series error
 * on that interval is <= 2^-(f-3): the seed's 1 at f = 16, 2 at f = 20.
 */
export function sqrtDivision(interval: Interval, initial: SqrtInitial, iterations: number, fracBits: number): { guess: LinearGuess; iterations: number } {
  const denominators = sqrtDenominators(interval, initial, iterations);
  const guess = sqrtGuess(interval, initial) === SEED_SQRT ? SEED_RECIPROCAL : reciprocalGuess(denominators);
  const eps0 = reciprocalGuessError(guess, denominators);
  return { guess, iterations: iterationsFor((k) => divisionError(eps0, k), 2 ** -(fracBits - 3), 'sqrt division', 1) };
}

export function defaultRsqrtIterations(interval: Interval, fracBits: number): number {
  return iterationsFor((k) => rsqrtError(rsqrtGuess(interval).error, k), 2 ** -(fracBits - 2), 'rsqrt');
}

/** Algorithm 3 on a normalised x' in `interval`. */
export async function sqrtNewton(c: Context, x: Shared, interval: Interval, opts: Pick<SqrtOptions, 'iterations' | 'divisionIterations' | 'initial'>): Promise<Shared> {
  const f = x.fracBits;
  const initial = opts.initial ?? 'seed';
  const iterations = opts.iterations ?? defaultSqrtIterations(interval, initial, f);
  const g = sqrtGuess(interval, initial);
  let s = addPublicScalar(c, await truncate(c, mulPublicScalar(c, x, g.a, f), f), g.b);
  if (iterations === 0) return s;
  const division = sqrtDivision(interval, initial, iterations, f);
  const k = opts.divisionIterations ?? division.iterations;
  for (let i = 0; i < iterations; i++) s = await half(c, add(s, await goldschmidt(c, x, s, division.guess, k)));
  return s;
}

/** Inverse-square-root Newton on a normalised x' in `interval`. */
export async function rsqrtNewton(c: Context, x: Shared, interval: Interval, iterations?: number): Promise<Shared> {
  const k = iterations ?? defaultRsqrtIterations(interval, x.fracBits);
  let y = await linearGuess(c, x, rsqrtGuess(interval));
  for (let i = 0; i < k; i++) {
    const [y2, xy] = await Promise.all([square(c, y), mul(c, x, y)]);
    const xy3 = await mul(c, xy, y2);
    y = add(y, await half(c, sub(y, xy3))); // 1.5 y - 0.5 x y^3
  }
  return y;
}

function checkOptions(what: string, opts: { iterations?: number; divisionIterations?: number }): void {
  if (opts.iterations !== undefined) checkIterations(opts.iterations, what);
  if (opts.divisionIterations !== undefined) checkIterations(opts.divisionIterations, `${what} (division)`);
}

/** sqrt(x) elementwise, x > 0 in opts.range (public); nothing is revealed. */
export function sqrt(ctx: Context, x: Shared, opts: SqrtOptions): Promise<Shared> {
  return ctx.call('sqrt', async (c) => {
    checkOptions('sqrt', opts);
    if (x.size === 0) return x;
    const norm = await normalise(c, x, opts);
    const root = await sqrtNewton(c, norm.scaled, norm.interval, opts);
    return norm.rescale(c, root, 0.5);
  });
}

/** 1 / sqrt(x) elementwise, x > 0 in opts.range (public); nothing is revealed. */
export function rsqrt(ctx: Context, x: Shared, opts: RsqrtOptions): Promise<Shared> {
  return ctx.call('rsqrt', async (c) => {
    checkOptions('rsqrt', opts);
    if (x.size === 0) return x;
    const norm = await normalise(c, x, opts);
    const y = await rsqrtNewton(c, norm.scaled, norm.interval, opts.iterations);
    return norm.rescale(c, y, -0.5);
  });
}
