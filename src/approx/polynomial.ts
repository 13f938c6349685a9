/**
 * Polynomial objects shared by the fits, the minimax solver and the evaluators.
 *
 * A polynomial is plain data (JSON-serialisable, so PPoly initialisation and
 * reports can store it): ascending coefficients in either the power basis
 * (sum c_k x^k) or the Chebyshev basis (sum c_k T_k(u)) where u maps the
 * polynomial's `domain` [lo, hi] affinely onto [-1, 1].
 */
import { chebyshevToPowerUnit, clenshaw, chebyshevInterpolationCoefficients, composeAffine } from './chebyshev.js';

export type Basis = 'power' | 'chebyshev';
export type Interval = readonly [number, number];

export interface ErrorStats {
  /** max |p(x) - f(x)| over the measurement grid. */
  max: number;
  /** mean |p(x) - f(x)| over the same grid. */
  mean: number;
}

export interface Polynomial {
  basis: Basis;
  /** Ascending: c_0, c_1, ... in the polynomial's basis. */
  coefficients: number[];
  /** Chebyshev basis: the x-interval mapped onto u in [-1, 1]. Absent for the power basis. */
  domain?: Interval;
}

/** Throws unless lo < hi, both finite. `what` names the argument in the message. */
export function checkInterval(iv: Interval, what = 'interval'): void {
  const [lo, hi] = iv;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error(`${what} [${lo}, ${hi}] must have finite ends`);
  if (!(lo < hi)) throw new Error(`${what} [${lo}, ${hi}] is empty: need lo < hi`);
}

/** Throws unless degree is an integer >= 1. */
export function checkDegree(degree: number, what = 'degree'): void {
  if (!Number.isInteger(degree) || degree < 1) throw new Error(`${what} must be an integer >= 1, got ${degree}`);
}

/** The variable u in [-1, 1] for x in domain [lo, hi]. */
export function toUnit(x: number, domain: Interval): number {
  const [lo, hi] = domain;
  return (2 * x - lo - hi) / (hi - lo);
}

function domainOf(p: Polynomial): Interval {
  if (!p.domain) throw new Error('a Chebyshev-basis polynomial needs its domain');
  return p.domain;
}

/** p(x) in float64: Horner (power basis) or Clenshaw (Chebyshev basis). */
export function evaluate(p: Polynomial, x: number): number {
  const c = p.coefficients;
  if (p.basis === 'chebyshev') return clenshaw(c, toUnit(x, domainOf(p)));
  let acc = 0;
  for (let k = c.length - 1; k >= 0; k--) acc = acc * x + c[k]!;
  return acc;
}

export function evaluateMany(p: Polynomial, xs: ArrayLike<number>): Float64Array {
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = evaluate(p, xs[i]!);
  return out;
}

/** Degree ignoring trailing zero coefficients. */
export function degreeOf(p: Polynomial): number {
  let d = p.coefficients.length - 1;
  while (d > 0 && p.coefficients[d] === 0) d--;
  return Math.max(d, 0);
}

/** The same polynomial in the power basis of x (exact algebra, float64 rounding). */
export function toPower(p: Polynomial): Polynomial {
  if (p.basis === 'power') return { basis: 'power', coefficients: [...p.coefficients] };
  const [lo, hi] = domainOf(p);
  const inU = chebyshevToPowerUnit(p.coefficients);
  // u = s x + t
  const s = 2 / (hi - lo);
  const t = -(lo + hi) / (hi - lo);
  return { basis: 'power', coefficients: composeAffine(inU, s, t) };
}

/**
 * The same polynomial in the Chebyshev basis on `domain`: interpolation at
 * degree + 1 Chebyshev nodes reproduces a polynomial of that degree exactly.
 */
export function toChebyshev(p: Polynomial, domain: Interval): Polynomial {
  checkInterval(domain, 'domain');
  const n = Math.max(p.coefficients.length - 1, 0);
  const coefficients = chebyshevInterpolationCoefficients((x) => evaluate(p, x), n, domain);
  return { basis: 'chebyshev', coefficients, domain: [domain[0], domain[1]] };
}

/** Evenly spaced grid of `points` values covering [lo, hi] including both ends. */
export function linspace(lo: number, hi: number, points: number): Float64Array {
  const out = new Float64Array(points);
  if (points === 1) {
    out[0] = lo;
    return out;
  }
  for (let i = 0; i < points; i++) out[i] = lo + ((hi - lo) * i) / (points - 1);
  out[points - 1] = hi;
  return out;
}

/** max and mean |p - f| on an even grid over the interval (float64 evaluation). */
export function measureError(p: Polynomial, f: (x: number) => number, interval: Interval, points = 4001): ErrorStats {
  const xs = linspace(interval[0], interval[1], points);
  let max = 0;
  let sum = 0;
  for (const x of xs) {
    const e = Math.abs(evaluate(p, x) - f(x));
    if (e > max || Number.isNaN(e)) max = Number.isNaN(e) ? Infinity : e;
    sum += e;
  }
  return { max, mean: sum / points };
}
