/** Data behind `mpcnet approx table`: the alpha table and the degree-3 ReLU fits of the PPoly seed's Figure 6. */
import { activation } from './functions.js';
import { chebyshevInterpolation, fitLeastSquares, lagrangeInterpolation, taylorSeries, type Fit } from './fits.js';
import { measureReluError, pathName, type EvalPath } from './float32.js';
import { ALPHAS, minimaxSign } from './minimax-sign.js';
import type { Interval } from './polynomial.js';

/** The paths the table reports: the safe ones first, then two that are not (for contrast). */
export const TABLE_PATHS: readonly EvalPath[] = [
  { basis: 'chebyshev', precision: 'float64' },
  { basis: 'chebyshev', precision: 'float32' },
  { basis: 'power', precision: 'float32' },
  { basis: 'chebyshev', precision: { fixedBits: 16 } },
  { basis: 'chebyshev', precision: { fixedBits: 20 } },
];

export interface AlphaRow {
  alpha: number;
  zeta: number;
  degrees: number[];
  /** tau_i per stage; the last is tau_k. */
  taus: number[];
  iterations: number[];
  /** 2^-alpha. */
  bound: number;
  /** max |r_alpha - ReLU| on [-1, 1] per path, keyed by pathName. */
  reluMaxError: Record<string, number>;
}

export function alphaTable(alphas: readonly number[] = ALPHAS, paths: readonly EvalPath[] = TABLE_PATHS): AlphaRow[] {
  return alphas.map((alpha) => {
    const sign = minimaxSign({ alpha });
    const reluMaxError: Record<string, number> = {};
    for (const p of paths) reluMaxError[pathName(p)] = measureReluError(sign, p).max;
    return {
      alpha,
      zeta: sign.zeta,
      degrees: sign.degrees,
      taus: sign.stages.map((s) => s.error),
      iterations: sign.stages.map((s) => s.iterations),
      bound: 2 ** -alpha,
      reluMaxError,
    };
  });
}

/**
 * Degree-3 approximations of ReLU by each method on one interval: least
 * squares on uniform samples, Taylor at 0 (ReLU has no derivatives there, so
 * SciPy's estimate with scale = half the interval), Chebyshev interpolation,
 * Lagrange at equidistant nodes (at Chebyshev nodes it would coincide with
 * the Chebyshev interpolant).
 */
export function reluDegree3Fits(interval: Interval = [-1, 1]): Fit[] {
  const relu = activation('relu');
  const half = (interval[1] - interval[0]) / 2;
  const mid = (interval[0] + interval[1]) / 2;
  return [
    fitLeastSquares(relu, 3, { kind: 'uniform', interval }),
    taylorSeries(relu, 3, mid, { scale: half, interval }),
    chebyshevInterpolation(relu, 3, interval),
    lagrangeInterpolation(relu, 3, interval, 'equidistant'),
  ];
}
