/**
 * Remez exchange for the best (minimax) odd polynomial approximation
 * p(x) = sum_j a_j T_{2j+1}(x / b) of a target on [a, b], 0 < a < b.
 *
 * Following ../shared/APPROX.md and Lee et al. (minimax composite sign,
 * Algorithm 2 "modified Remez"): the unknowns are Chebyshev coefficients, so
 * float64 suffices even at degree 29 where a power-basis Vandermonde system
 * is hopelessly ill-conditioned. Each iteration solves the levelled system
 * p(x_i) + (-1)^i E = f(x_i) on m + 1 reference points, locates every local
 * extremum of the error p - f (scan + golden-section refinement), keeps an
 * alternating set of m + 1 of them that contains the global maximum, and
 * stops when their absolute error levels agree to `tolerance` (relative).
 * Chebyshev's equioscillation theorem makes that polynomial minimax.
 */
import { clenshawOdd } from './chebyshev.js';
import { solveLinear } from './linalg.js';
import { checkInterval, type Interval } from './polynomial.js';

export interface RemezOddOptions {
  /** Odd degree d >= 1: m = (d + 1) / 2 unknown coefficients. */
  degree: number;
  /** [a, b] with 0 < a < b; the odd polynomial then also serves [-b, -a]. */
  interval: Interval;
  /** Function to approximate on [a, b]; default 1 (sgn on the positive side). */
  target?: (x: number) => number;
  /** Stop when (max - min) / max of the error levels is below this (default 1e-9). */
  tolerance?: number;
  maxIterations?: number;
}

export interface RemezOddResult {
  degree: number;
  interval: Interval;
  /** b: the basis is T_{2j+1}(x / b). */
  scale: number;
  /** a_j, the coefficient of T_{2j+1}(x / b), j = 0..(degree - 1) / 2. */
  chebyshevOdd: number[];
  /** The minimax error: max |p - f| over [a, b] (the largest level of the final reference). */
  error: number;
  /** Final alternation points (m + 1 of them) and the signed errors there. */
  reference: number[];
  levels: number[];
  /** (max - min) / max of |levels|: ~0 at equioscillation. */
  levelSpread: number;
  iterations: number;
  converged: boolean;
}

export function checkOddDegree(degree: number): void {
  if (!Number.isInteger(degree) || degree < 1 || degree % 2 === 0) throw new Error(`degree must be an odd integer >= 1, got ${degree}`);
}

/** Scan grid: Chebyshev-spaced (dense near both ends) plus geometric (dense near a when a << b). */
function scanGrid(a: number, b: number, degree: number): Float64Array {
  const nCheb = 60 * degree + 200;
  const nGeo = a > 0 && b / a > 4 ? 40 * degree + 100 : 0;
  const pts: number[] = [];
  for (let i = 0; i <= nCheb; i++) pts.push(a + ((b - a) * (1 - Math.cos((Math.PI * i) / nCheb))) / 2);
  const ratio = Math.log(b / a);
  for (let i = 1; i < nGeo; i++) pts.push(a * Math.exp((ratio * i) / nGeo));
  pts.sort((x, y) => x - y);
  const out: number[] = [];
  for (const p of pts) if (p >= a && p <= b && (out.length === 0 || p > out[out.length - 1]!)) out.push(p);
  out[0] = a;
  out[out.length - 1] = b;
  return Float64Array.from(out);
}

/** Maximise s * e(x) on [lo, hi] by golden-section search (e is smooth and unimodal there). */
function refineExtremum(e: (x: number) => number, lo: number, hi: number, s: number): number {
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - g * (hi - lo);
  let x2 = lo + g * (hi - lo);
  let f1 = s * e(x1);
  let f2 = s * e(x2);
  for (let it = 0; it < 200 && hi - lo > 1e-15 * Math.max(1, Math.abs(hi)); it++) {
    if (f1 < f2) {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = s * e(x2);
    } else {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = s * e(x1);
    }
  }
  return f1 > f2 ? x1 : x2;
}

/**
 * All local extrema of e on the grid (ends included), refined, then reduced to
 * an alternating sequence: runs of one sign keep their largest |e|, and while
 * more than `count` remain the smaller end point is dropped (this never drops
 * the global maximum and keeps alternation).
 */
function alternatingExtrema(e: (x: number) => number, grid: Float64Array, count: number): { xs: number[]; es: number[] } {
  const vals = Array.from(grid, e);
  const cand: { x: number; e: number }[] = [];
  const n = grid.length;
  cand.push({ x: grid[0]!, e: vals[0]! });
  for (let i = 1; i < n - 1; i++) {
    const v = vals[i]!;
    const s = v >= 0 ? 1 : -1;
    if (s * v >= s * vals[i - 1]! && s * v >= s * vals[i + 1]! && s * v > 0) {
      const x = refineExtremum(e, grid[i - 1]!, grid[i + 1]!, s);
      const ex = e(x);
      if (s * ex >= s * v) cand.push({ x, e: ex });
      else cand.push({ x: grid[i]!, e: v });
    }
  }
  cand.push({ x: grid[n - 1]!, e: vals[n - 1]! });
  const alt: { x: number; e: number }[] = [];
  for (const c of cand) {
    const last = alt[alt.length - 1];
    if (last && Math.sign(last.e) === Math.sign(c.e)) {
      if (Math.abs(c.e) > Math.abs(last.e)) alt[alt.length - 1] = c;
    } else if (!last || c.x > last.x) alt.push(c);
  }
  while (alt.length > count) {
    if (Math.abs(alt[0]!.e) < Math.abs(alt[alt.length - 1]!.e)) alt.shift();
    else alt.pop();
  }
  return { xs: alt.map((c) => c.x), es: alt.map((c) => c.e) };
}

export function remezOdd(opts: RemezOddOptions): RemezOddResult {
  const { degree } = opts;
  checkOddDegree(degree);
  checkInterval(opts.interval);
  const [a, b] = opts.interval;
  if (!(a > 0)) throw new Error(`odd minimax needs an interval inside (0, inf), got [${a}, ${b}]`);
  const f = opts.target ?? ((): number => 1);
  const tol = opts.tolerance ?? 1e-9;
  const maxIt = opts.maxIterations ?? 100;
  const m = (degree + 1) / 2;
  const grid = scanGrid(a, b, degree);

  // initial reference: m + 1 Chebyshev extreme points of [a, b]
  let ref = Array.from({ length: m + 1 }, (_, i) => a + ((b - a) * (1 - Math.cos((Math.PI * i) / m))) / 2);
  let coeffs: number[] = [];
  let levels: number[] = [];
  let spread = Infinity;
  let iterations = 0;
  let converged = false;
  const basisRow = (x: number): number[] => {
    // T_1, T_3, ..., T_{2m-1} at t = x / b via T_{n+2} = 2 T_2 T_n - T_{n-2}
    const t = x / b;
    const w2 = 2 * (2 * t * t - 1);
    const row = [t];
    if (m > 1) row.push(t * (w2 - 1));
    for (let j = 2; j < m; j++) row.push(w2 * row[j - 1]! - row[j - 2]!);
    return row;
  };
  for (iterations = 1; iterations <= maxIt; iterations++) {
    const rows = ref.map((x, i) => [...basisRow(x), i % 2 === 0 ? 1 : -1]);
    const sol = solveLinear(rows, ref.map(f));
    coeffs = sol.slice(0, m);
    const err = (x: number): number => clenshawOdd(coeffs, x / b) - f(x);
    const ext = alternatingExtrema(err, grid, m + 1);
    if (ext.xs.length < m + 1) {
      // fewer alternations than the Haar condition guarantees: numerical trouble
      levels = ext.es;
      break;
    }
    ref = ext.xs;
    levels = ext.es;
    const abs = levels.map(Math.abs);
    const hi = Math.max(...abs);
    // a target the degree represents exactly leaves only rounding noise: converged
    const noise = 64 * Number.EPSILON * Math.max(1, ...ref.map((x) => Math.abs(f(x))));
    spread = hi <= noise ? 0 : (hi - Math.min(...abs)) / hi;
    if (spread < tol) {
      converged = true;
      break;
    }
  }
  const abs = levels.map(Math.abs);
  return {
    degree,
    interval: [a, b],
    scale: b,
    chebyshevOdd: coeffs,
    error: abs.length ? Math.max(...abs) : NaN,
    reference: ref,
    levels,
    levelSpread: spread,
    iterations: Math.min(iterations, maxIt),
    converged,
  };
}
