/**
 * Initial guesses and iteration counts for the iterative division, square
 * root, inverse square root and reciprocal protocols (protocols/division.ts,
 * protocols/sqrt.ts, protocols/softmax.ts), in float64. Everything here is
 * public: it depends only on the public interval the input is known to lie
 * in, never on the input.
 *
 * Seed mpc-cnn-batchnorm-ppoly.txt 3.2: Algorithm 2 starts 1/b from
 * w0 = 2.9142 - 2b (Catrina-Saxena; |1 - b w0| <= 0.0858 on [0.5, 1]) and
 * Algorithm 3 starts sqrt(a) from 0.5480842735 a + 0.3875541065 on [0.5, 1].
 * On any other interval [l, h] (a public range bound in 2PC) the linear
 * guess with the smallest worst relative error is used; each has a closed
 * form (equioscillation at l, h and the interior extremum):
 *  - 1/x:  w(x) = c0 - c1 x, c1 = 2 / (m^2 + l h), c0 = 2 m c1, m = (l + h) / 2,
 *          |1 - x w(x)| <= (m^2 - l h) / (m^2 + l h) = (R - 1)^2 / (R^2 + 6R + 1), R = h / l;
 *  - sqrt: s(x) = a x + b, a = 2 / (l^(1/4) + h^(1/4))^2, b = a sqrt(l h);
 *  - 1/sqrt: y(x) = c0 - c1 x; with t = sqrt(x), g(t) = t y = c0 t - c1 t^3,
 *          S = t_l^2 + t_l t_h + t_h^2, c0 = c1 S, g(t_l) = g(t_h) = c1 t_l t_h (t_l + t_h),
 *          peak g* = c1 (2 S / 3) sqrt(S / 3) at t^2 = S / 3, c1 = 2 / (g(t_l) / c1 + g* / c1).
 * Convergence (exact arithmetic; e0 the initial relative error):
 *  - Algorithm 2 with k iterations: 1 - b x_k / a = eps0^(2^(k+1));
 *  - reciprocal Newton y <- y (2 - x y): 1 - x y_k = (1 - x y0)^(2^k);
 *  - inverse square root Newton y <- y (3 - x y^2) / 2: e <- 1.5 e^2 + 0.5 e^3
 *    (e = 1 - sqrt(x) y, sign dropped: the map only depends on its size for small e);
 *  - square root Newton x <- (x + a / x) / 2: r <- (r + 1 / r) / 2 for r = x / sqrt(a).
 * The fixed-point floor (a few ulps, measured in bench/division-error.ts)
 * comes on top.
 */

/** w0 = c0 - c1 x, an initial guess of 1/x or 1/sqrt(x). */
export interface LinearGuess {
  c0: number;
  c1: number;
  /** Worst relative error of the guess on its interval: max |1 - x w0| (1/x) or |1 - sqrt(x) w0| (1/sqrt). */
  error: number;
}

/** x0 = a x + b, an initial guess of sqrt(x). */
export interface SqrtGuess {
  a: number;
  b: number;
  /** Worst relative error max |x0 / sqrt(x) - 1| on the interval. */
  error: number;
}

export type Interval = readonly [number, number];

/** The seed's interval for Algorithms 2 and 3. */
export const UNIT_OCTAVE: Interval = [0.5, 1];
/** Algorithm 2's w0 = 2.9142 - 2b (seed 3.2.1). */
export const SEED_RECIPROCAL: LinearGuess = { c0: 2.9142, c1: 2, error: 0.0858 };
/** Algorithm 3's x0 = 0.5480842735 a + 0.3875541065 (seed 3.2.2): below sqrt(a) on all of [0.5, 1], by 6.4% to 7.8%. */
export const SEED_SQRT: SqrtGuess = { a: 0.5480842735, b: 0.3875541065, error: 0.0782 };

export function checkInterval([l, h]: Interval, what: string): void {
  if (!(l > 0) || !(h >= l) || !Number.isFinite(h)) throw new RangeError(`${what}: interval [${l}, ${h}] must satisfy 0 < lower <= upper < infinity`);
}

/** The seed's interval when [l, h] lies inside it (its constants then apply), otherwise [l, h] itself. */
export function fitInterval(interval: Interval): Interval {
  const [l, h] = interval;
  return l >= UNIT_OCTAVE[0] && h <= UNIT_OCTAVE[1] ? UNIT_OCTAVE : interval;
}

/** Minimax-relative linear guess of 1/x on [l, h]. */
export function reciprocalGuess(interval: Interval): LinearGuess {
  checkInterval(interval, 'reciprocalGuess');
  const [l, h] = interval;
  const m = (l + h) / 2;
  const c1 = 2 / (m * m + l * h);
  return { c0: 2 * m * c1, c1, error: (m * m - l * h) / (m * m + l * h) };
}

/** Worst |1 - x (c0 - c1 x)| of a reciprocal guess over [l, h] (at the ends or the vertex x = c0 / (2 c1)). */
export function reciprocalGuessError(guess: LinearGuess, interval: Interval): number {
  const [l, h] = interval;
  const v = guess.c0 / (2 * guess.c1);
  const at = (x: number): number => Math.abs(1 - x * (guess.c0 - guess.c1 * x));
  return Math.max(at(l), at(h), v > l && v < h ? at(v) : 0);
}

/** Algorithm 2's guess on [0.5, 1] (the seed's), the minimax one elsewhere. */
export function divisionGuess(interval: Interval): LinearGuess {
  return fitInterval(interval) === UNIT_OCTAVE ? SEED_RECIPROCAL : reciprocalGuess(interval);
}

/** Minimax-relative linear guess of sqrt(x) on [l, h]. */
export function sqrtGuessMinimax(interval: Interval): SqrtGuess {
  checkInterval(interval, 'sqrtGuess');
  const [l, h] = interval;
  const a = 2 / (l ** 0.25 + h ** 0.25) ** 2;
  const b = a * Math.sqrt(l * h);
  // x0 / sqrt(x) = a t + b / t (t = sqrt(x)): equal at both ends, least at t^2 = b / a.
  const ends = a * (Math.sqrt(l) + Math.sqrt(h));
  const low = 2 * Math.sqrt(a * b);
  return { a, b, error: Math.max(Math.abs(ends - 1), Math.abs(low - 1)) };
}

export type SqrtInitial = 'seed' | 'minimax';

/** Algorithm 3's start: the seed's constants on [0.5, 1] ('seed'), the minimax fit otherwise. */
export function sqrtGuess(interval: Interval, initial: SqrtInitial = 'seed'): SqrtGuess {
  const fit = fitInterval(interval);
  return initial === 'seed' && fit === UNIT_OCTAVE ? SEED_SQRT : sqrtGuessMinimax(fit);
}

/** Minimax-relative linear guess of 1/sqrt(x) on [l, h] (on [0.5, 1]: 1.7877 - 0.8100 x, within 2.2%). */
export function rsqrtGuess(interval: Interval): LinearGuess {
  checkInterval(interval, 'rsqrtGuess');
  const [l, h] = fitInterval(interval);
  const tl = Math.sqrt(l);
  const th = Math.sqrt(h);
  const s = tl * tl + tl * th + th * th;
  const ends = tl * th * (tl + th); // g(t_l) / c1
  const peak = ((2 * s) / 3) * Math.sqrt(s / 3); // g* / c1
  const c1 = 2 / (ends + peak);
  return { c0: c1 * s, c1, error: (peak - ends) / (peak + ends) };
}

/** Relative error of Algorithm 2 after k iterations from eps0 (exact arithmetic). */
export function divisionError(eps0: number, iterations: number): number {
  return Math.abs(eps0) ** (2 ** (iterations + 1));
}

/** Relative error of reciprocal Newton after k iterations from e0. */
export function reciprocalError(e0: number, iterations: number): number {
  return Math.abs(e0) ** (2 ** iterations);
}

/** Relative error of inverse-square-root Newton after k iterations from e0 (worst sign). */
export function rsqrtError(e0: number, iterations: number): number {
  let e = Math.abs(e0);
  for (let k = 0; k < iterations; k++) e = 1.5 * e * e + 0.5 * e * e * e;
  return e;
}

/** Relative error of square-root Newton after k iterations, worst over the start ratios r in [r_lo, r_hi]. */
export function sqrtError(ratios: Interval, iterations: number): number {
  const step = (r: number): number => {
    for (let k = 0; k < iterations; k++) r = (r + 1 / r) / 2;
    return Math.abs(r - 1);
  };
  return Math.max(step(ratios[0]), step(ratios[1]));
}

/**
 * Fewest iterations (at least `least`) whose predicted relative error is at
 * most `target`; throws past `most` (the guess is too poor for the interval).
 */
export function iterationsFor(error: (k: number) => number, target: number, what: string, least = 0, most = 40): number {
  for (let k = least; k <= most; k++) if (error(k) <= target) return k;
  throw new RangeError(`${what}: more than ${most} iterations would be needed to reach ${target}; narrow the range`);
}
