/**
 * Low-degree polynomial fits of activation functions, the four methods of
 * the PPoly seed (mpc-cnn-batchnorm-ppoly, section 3.4): least squares on
 * uniform or normal samples (Chabanne et al.), Taylor series at a point,
 * Chebyshev interpolation, Lagrange interpolation at equidistant or Chebyshev
 * nodes. Every fit reports its max / mean error on the interval it is for.
 */
import { Rng } from '../common/random.js';
import { chebyshevInterpolationCoefficients, chebyshevNodes, composeAffine } from './chebyshev.js';
import { activation, isActivationName, ACTIVATIONS, type ActivationOptions, type TargetFunction } from './functions.js';
import { leastSquares, solveLinear } from './linalg.js';
import { checkDegree, checkInterval, linspace, measureError, toPower, toUnit, type ErrorStats, type Interval, type Polynomial } from './polynomial.js';

export type FitMethod = 'lstsq' | 'taylor' | 'chebyshev' | 'lagrange';
export const FIT_METHODS: readonly FitMethod[] = ['lstsq', 'taylor', 'chebyshev', 'lagrange'];
export type NodeKind = 'equidistant' | 'chebyshev';

export interface Fit extends Polynomial {
  fn: string;
  method: FitMethod;
  degree: number;
  /** Where the fit is meant to be used; `error` is measured here. */
  interval: Interval;
  error: ErrorStats;
  /** Interpolation nodes (chebyshev, lagrange, taylor with a scale). */
  nodes?: number[];
}

export type Sampling =
  | { kind: 'uniform'; interval: Interval; count?: number; seed?: number }
  | { kind: 'normal'; mu: number; sigma: number; count?: number; seed?: number };

/** Sample points for least squares, from a seeded generator: fits are reproducible. */
export function drawSamples(sampling: Sampling): Float64Array {
  const count = sampling.count ?? 10000;
  if (!Number.isInteger(count) || count < 1) throw new Error(`sample count must be a positive integer, got ${count}`);
  const rng = new Rng(sampling.seed ?? 1);
  const out = new Float64Array(count);
  if (sampling.kind === 'uniform') {
    checkInterval(sampling.interval, 'sampling range');
    const [lo, hi] = sampling.interval;
    for (let i = 0; i < count; i++) out[i] = lo + (hi - lo) * rng.uniform();
  } else {
    if (!(sampling.sigma > 0) || !Number.isFinite(sampling.sigma)) throw new Error(`sigma must be > 0, got ${sampling.sigma}`);
    if (!Number.isFinite(sampling.mu)) throw new Error(`mu must be finite, got ${sampling.mu}`);
    for (let i = 0; i < count; i++) out[i] = sampling.mu + sampling.sigma * rng.normal();
  }
  return out;
}

/** Chebyshev T_0..T_n at u. */
function chebyshevRow(u: number, n: number): number[] {
  const row = [1];
  if (n >= 1) row.push(u);
  for (let k = 2; k <= n; k++) row.push(2 * u * row[k - 1]! - row[k - 2]!);
  return row;
}

function finish(target: TargetFunction, method: FitMethod, degree: number, p: Polynomial, interval: Interval, nodes?: number[]): Fit {
  const error = measureError(p, target.f, interval);
  const fit: Fit = { fn: target.name, method, degree, basis: p.basis, coefficients: p.coefficients, interval: [interval[0], interval[1]], error };
  if (p.domain) fit.domain = p.domain;
  if (nodes) fit.nodes = nodes;
  return fit;
}

/**
 * Least squares (numpy.polyfit's problem). Solved in the Chebyshev basis of
 * the sample range with QR, then converted: the power-basis Vandermonde
 * matrix is needlessly ill-conditioned. Returns the power basis, the form
 * PPoly layers train. Interval: the uniform range, or mu +- 3 sigma.
 */
export function fitLeastSquares(target: TargetFunction, degree: number, sampling: Sampling, interval?: Interval): Fit {
  checkDegree(degree);
  const xs = drawSamples(sampling);
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  if (!(lo < hi)) throw new Error('least squares needs at least two distinct sample points');
  const domain: Interval = [lo, hi];
  const rows = Array.from(xs, (x) => chebyshevRow(toUnit(x, domain), degree));
  const ys = Array.from(xs, (x) => target.f(x));
  const coefficients = leastSquares(rows, ys);
  const p = toPower({ basis: 'chebyshev', coefficients, domain });
  const meant = interval ?? (sampling.kind === 'uniform' ? sampling.interval : ([sampling.mu - 3 * sampling.sigma, sampling.mu + 3 * sampling.sigma] as const));
  checkInterval(meant);
  return finish(target, 'lstsq', degree, p, meant);
}

/** Polynomial (Chebyshev basis on `interval`) through (nodes[i], values[i]). */
function interpolate(nodes: readonly number[], values: readonly number[], interval: Interval): Polynomial {
  const n = nodes.length - 1;
  const rows = nodes.map((x) => chebyshevRow(toUnit(x, interval), n));
  return { basis: 'chebyshev', coefficients: solveLinear(rows, values), domain: [interval[0], interval[1]] };
}

export interface TaylorOptions {
  /**
   * Estimate the derivatives as SciPy's approximate_taylor_polynomial does:
   * interpolate f at degree + 1 Chebyshev extreme points of [at - scale, at + scale].
   * Needed where f has no derivatives (ReLU at 0); without it the exact series is used.
   */
  scale?: number;
  /** Where the result is measured; default [at - r, at + r], r = scale or 1. */
  interval?: Interval;
}

/** Taylor polynomial of degree `degree` at `at`, returned in the power basis of x. */
export function taylorSeries(target: TargetFunction, degree: number, at: number, opts: TaylorOptions = {}): Fit {
  checkDegree(degree);
  if (!Number.isFinite(at)) throw new Error(`Taylor point must be finite, got ${at}`);
  let inShift: number[];
  let nodes: number[] | undefined;
  if (opts.scale !== undefined) {
    if (!(opts.scale > 0) || !Number.isFinite(opts.scale)) throw new Error(`Taylor scale must be > 0, got ${opts.scale}`);
    const iv: Interval = [at - opts.scale, at + opts.scale];
    nodes = Array.from({ length: degree + 1 }, (_, k) => at - opts.scale! * Math.cos((Math.PI * k) / degree));
    const p = toPower(interpolate(nodes, nodes.map(target.f), iv));
    // coefficients in (x - at): p(x) = q(x - at), q(y) = p(y + at)
    inShift = composeAffine(p.coefficients, 1, at);
  } else {
    const series = target.taylor?.(at, degree);
    if (series === undefined) throw new Error(`no exact Taylor series for ${target.name}: give a scale to estimate one`);
    if (series === null) throw new Error(`${target.name} is not differentiable at ${at}: give a scale to estimate the series from nearby samples`);
    inShift = series;
  }
  const coefficients = composeAffine(inShift, 1, -at);
  const r = opts.scale ?? 1;
  const interval = opts.interval ?? ([at - r, at + r] as const);
  checkInterval(interval);
  return finish(target, 'taylor', degree, { basis: 'power', coefficients }, interval, nodes);
}

/** Chebyshev interpolation at the degree + 1 first-kind nodes; Chebyshev basis on the interval. */
export function chebyshevInterpolation(target: TargetFunction, degree: number, interval: Interval): Fit {
  checkDegree(degree);
  checkInterval(interval);
  const coefficients = chebyshevInterpolationCoefficients(target.f, degree, interval);
  const p: Polynomial = { basis: 'chebyshev', coefficients, domain: [interval[0], interval[1]] };
  return finish(target, 'chebyshev', degree, p, interval, chebyshevNodes(degree + 1, interval));
}

/**
 * Lagrange interpolation (scipy.interpolate.lagrange's polynomial) at degree + 1
 * equidistant points (ends included) or first-kind Chebyshev nodes; power
 * basis. At Chebyshev nodes it is the same polynomial as `chebyshevInterpolation`
 * in another basis.
 */
export function lagrangeInterpolation(target: TargetFunction, degree: number, interval: Interval, nodeKind: NodeKind = 'chebyshev'): Fit {
  checkDegree(degree);
  checkInterval(interval);
  const nodes = nodeKind === 'equidistant' ? Array.from(linspace(interval[0], interval[1], degree + 1)) : chebyshevNodes(degree + 1, interval);
  const p = toPower(interpolate(nodes, nodes.map(target.f), interval));
  return finish(target, 'lagrange', degree, p, interval, nodes);
}

export interface FitOptions extends ActivationOptions {
  method: FitMethod;
  degree: number;
  /** lstsq (uniform) sampling range, chebyshev / lagrange interval, taylor measurement interval. Default [-1, 1]. */
  interval?: Interval;
  sampling?: 'uniform' | 'normal';
  mu?: number;
  sigma?: number;
  samples?: number;
  seed?: number;
  /** Taylor point (default 0) and optional scale. */
  at?: number;
  scale?: number;
  nodes?: NodeKind;
}

/** One entry point for the CLI and experiments: a named activation or any function. */
export function fit(fn: string | TargetFunction, opts: FitOptions): Fit {
  let target: TargetFunction;
  if (typeof fn === 'string') {
    if (!isActivationName(fn)) throw new Error(`unknown function '${fn}': expected one of ${ACTIVATIONS.join(', ')}`);
    target = activation(fn, opts);
  } else target = fn;
  const interval = opts.interval ?? ([-1, 1] as const);
  switch (opts.method) {
    case 'lstsq': {
      const common = { count: opts.samples ?? 10000, seed: opts.seed ?? 1 };
      const sampling: Sampling =
        (opts.sampling ?? 'uniform') === 'normal'
          ? { kind: 'normal', mu: opts.mu ?? 0, sigma: opts.sigma ?? 1, ...common }
          : { kind: 'uniform', interval, ...common };
      return fitLeastSquares(target, opts.degree, sampling, sampling.kind === 'normal' ? opts.interval : undefined);
    }
    case 'taylor': {
      const t: TaylorOptions = {};
      if (opts.scale !== undefined) t.scale = opts.scale;
      if (opts.interval !== undefined) t.interval = opts.interval;
      return taylorSeries(target, opts.degree, opts.at ?? 0, t);
    }
    case 'chebyshev':
      return chebyshevInterpolation(target, opts.degree, interval);
    case 'lagrange':
      return lagrangeInterpolation(target, opts.degree, interval, opts.nodes ?? 'chebyshev');
    default:
      throw new Error(`unknown fit method '${String(opts.method)}': expected one of ${FIT_METHODS.join(', ')}`);
  }
}
