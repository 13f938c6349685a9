/**
 * Private division a / b for b > 0 in a public range (seed
 * mpc-cnn-batchnorm-ppoly.txt 3.2.1, Algorithm 2, after Wagh / Catrina-
 * Saxena; PROTOCOLS.md 5), elementwise, 2PC or 3PC.
 *
 * b is first brought into [0.5, 1) (private, 3PC) or a public interval
 * (public bound, any mode) by protocols/range-normalisation.ts; the
 * numerator is scaled by the same 2^-e in the same Beaver call, so
 * a / b = a' / b'. Then, with w0 = c0 - c1 b' (2.9142 - 2b' on [0.5, 1]):
 *   eps0 = 1 - b' w0,  x0 = a' w0 (1 + eps0),
 *   eps_i = eps_(i-1)^2,  x_i = x_(i-1) (1 + eps_i),  i = 1..k,
 * so x_k = a' w0 (1 - eps0^(2^(k+1))) / (1 - eps0) = (a / b)(1 - eps0^(2^(k+1))).
 * Scheduling: b' w0 and a' w0 are one stacked product (one round); then
 * every round computes x_i and the next eps (independent) together, so
 * k iterations cost k + 2 rounds after the normalisation (the seed counts
 * 2 per iteration).
 *
 * Precision (max / mean of |y - a/b| / max(1, |a/b|) in ulps 2^-f over
 * the input range, a uniform in [-1, 1]; plaintext context, f = 16,
 * bench/division-error.ts, results/division-error/):
 *   b in [0.5, 1):                k = 0: 435 / 76, k = 1: 4.9 / 1.4, k >= 2: 4.1 / 1.4;
 *   b in [2^-6, 2^10), private:   k = 1: 5.1 / 1.7 (the same from k = 1 on);
 *   b in [0.25, 4], public bound: k = 3: 59 / 7.6, k >= 4 (default): 46 / 7.2
 *     (b' = b / 8 keeps f bits, so small b' lose relative precision).
 * The series error is eps0^(2^(k+1)) with |eps0| <= 0.0858 on [0.5, 1):
 * 0.74% (k = 0), 5.4e-5 (k = 1), 3e-9 (k = 2). Default k: the fewest
 * iterations whose series error is <= 2^-(f-2): the seed's 1 on [0.5, 1)
 * at f = 16, 2 at f = 20 (k = 1 there: 45 ulps, k = 2: 4.3), more on a
 * wide public interval. 2PC and 3PC runs stay within 1.2x of these plus an
 * ulp (test/division-math.test.ts, test/mpc-division.test.ts).
 * Cost with local truncation: k + 2 rounds, 48 + 24k bytes per element
 * from each holder; the private normalisation adds 3 rounds and its DReLUs
 * (81 bytes per comparison at lx 23; 15 comparisons for [2^-6, 2^10)).
 * Products stay near |a / b| 2^(2f) in the ring (local truncation wraps
 * with probability about |a / b| 2^(2f - 64) per product), so |a / b|
 * must stay well inside the fixed-point range.
 */
import { divisionError, divisionGuess, iterationsFor, type LinearGuess } from '../src/approx/newton-init.js';
import type { Context } from '../src/mpc/context.js';
import { assertSameShape, type Shared } from '../src/mpc/shared.js';
import { mul, square } from './beaver.js';
import { addPublicScalar, mulPublicInt, mulPublicScalar, neg } from './linear.js';
import { normalise, type NormalisationOptions } from './range-normalisation.js';
import { stack, unstack } from './share-layout.js';
import { truncate } from './truncation.js';

export interface DivisionOptions extends NormalisationOptions {
  /** Algorithm 2's iterations k (default: enough for its series error <= 2^-(f-2) on the normalised interval; 1 on [0.5, 1)). */
  iterations?: number;
}

export function checkIterations(k: number, what: string): number {
  if (!Number.isInteger(k) || k < 0 || k > 64) throw new RangeError(`${what}: iterations must be an integer in [0, 64], got ${k}`);
  return k;
}

/** Default iterations of Algorithm 2 from the guess's worst eps0. */
export function defaultDivisionIterations(guess: LinearGuess, fracBits: number): number {
  return iterationsFor((k) => divisionError(guess.error, k), 2 ** -(fracBits - 2), 'division');
}

/** w0 = c0 - c1 x at x's scale: c1 = 2 is an exact doubling, any other c1 a public product and one truncation. */
export async function linearGuess(c: Context, x: Shared, guess: LinearGuess): Promise<Shared> {
  const f = x.fracBits;
  const slope = guess.c1 === 2 ? mulPublicInt(x, 2n) : await truncate(c, mulPublicScalar(c, x, guess.c1, f), f);
  return addPublicScalar(c, neg(slope), guess.c0);
}

/**
 * Algorithm 2 on already normalised operands: a / b from w0 = c0 - c1 b,
 * k iterations. a and b have the same shape.
 */
export async function goldschmidt(c: Context, a: Shared, b: Shared, guess: LinearGuess, iterations: number): Promise<Shared> {
  const w0 = await linearGuess(c, b, guess);
  const [bw, aw] = unstack(await mul(c, stack([b, a]), stack([w0, w0])), [b.shape, a.shape]);
  let eps = addPublicScalar(c, neg(bw!), 1); // eps0 = 1 - b w0
  let x = aw!; // a w0
  for (let i = 0; i <= iterations; i++) {
    const [next, eps2] = await Promise.all([mul(c, x, addPublicScalar(c, eps, 1)), i < iterations ? square(c, eps) : null]);
    x = next;
    if (eps2) eps = eps2;
  }
  return x;
}

/** a / b elementwise, b > 0 in opts.range (public); nothing is revealed. */
export function divide(ctx: Context, a: Shared, b: Shared, opts: DivisionOptions): Promise<Shared> {
  return ctx.call('divide', async (c) => {
    assertSameShape('divide', a.shape, b.shape);
    if (opts.iterations !== undefined) checkIterations(opts.iterations, 'divide');
    if (b.size === 0) return a;
    const norm = await normalise(c, b, opts, [a]);
    const guess = divisionGuess(norm.interval);
    const k = opts.iterations ?? defaultDivisionIterations(guess, b.fracBits);
    return goldschmidt(c, norm.also[0]!, norm.scaled, guess, k);
  });
}
