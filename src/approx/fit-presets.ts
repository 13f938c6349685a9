/**
 * One setting per fitting method, for the fixed polynomial activations
 * that `--act fit:FN:METHOD[:dD]` names (the seed's Table 4 comparison,
 * mpc-cnn-batchnorm-ppoly 4.4). The seed CNN's activation inputs are the
 * batch-normalised conv outputs, about N(beta, gamma^2) with gamma near 1
 * and beta near 0 (without batch norm, the He-initialised conv's outputs
 * have variance about 2 on normalised images), so:
 *  - lstsq: 10,000 seeded samples of N(0, 1.2^2), the seed's best setting
 *    (its Table 5); for Leaky ReLU it is the bare `ppoly` initialisation.
 *  - taylor: the series at 0. Leaky ReLU (and ReLU) has no derivative at 0,
 *    so its "Taylor" polynomial is SciPy's approximate_taylor_polynomial,
 *    as the seed computed it: derivatives estimated by interpolating at the
 *    degree + 1 Chebyshev extreme points of [-1, 1] (scale 1). Swish, tanh
 *    and sigmoid take their exact series.
 *  - chebyshev: interpolation at the degree + 1 first-kind Chebyshev nodes
 *    of [-4, 4], which holds an N(0, 1) input but for 6e-5 of it.
 *  - lagrange: interpolation at degree + 1 equidistant points of [-4, 4]
 *    (ends included), scipy.interpolate.lagrange's usual use; at Chebyshev
 *    nodes it would be the chebyshev row again.
 * Every fit's error is measured on [-4, 4], so the methods compare.
 */
import { fit, type Fit, type FitMethod, type FitOptions } from './fits.js';
import { activation, type ActivationName } from './functions.js';
import { toPower, type Interval } from './polynomial.js';

/** Interval of the interpolations and of every preset's error. */
export const PRESET_INTERVAL: Interval = [-4, 4];
/** Least-squares samples: N(0, PRESET_SIGMA^2) (the seed's Table 5 best). */
export const PRESET_SIGMA = 1.2;
/** Scale of SciPy's Taylor estimate where f has no derivative at 0. */
export const PRESET_TAYLOR_SCALE = 1;
/** Leaky ReLU slope (the seed's PPoly initialisation). */
export const PRESET_SLOPE = 0.01;
export const PRESET_DEGREE = 3;

export interface PresetFit extends Fit {
  /** How the preset was taken, in words (for reports and --help). */
  setting: string;
}

function options(fn: ActivationName, method: FitMethod, degree: number): { opts: FitOptions; setting: string } {
  const base = { method, degree, slope: PRESET_SLOPE, interval: PRESET_INTERVAL };
  const iv = `[${PRESET_INTERVAL[0]}, ${PRESET_INTERVAL[1]}]`;
  switch (method) {
    case 'lstsq':
      return { opts: { ...base, sampling: 'normal', mu: 0, sigma: PRESET_SIGMA }, setting: `least squares on 10,000 samples of N(0, ${PRESET_SIGMA}^2)` };
    case 'taylor': {
      const exact = activation(fn, { slope: PRESET_SLOPE }).taylor?.(0, degree);
      if (exact) return { opts: { ...base, at: 0 }, setting: 'Taylor series at 0' };
      return {
        opts: { ...base, at: 0, scale: PRESET_TAYLOR_SCALE },
        setting: `Taylor at 0 estimated as SciPy does (no derivative at 0): interpolation at the Chebyshev extreme points of [-${PRESET_TAYLOR_SCALE}, ${PRESET_TAYLOR_SCALE}]`,
      };
    }
    case 'chebyshev':
      return { opts: base, setting: `Chebyshev interpolation at ${degree + 1} first-kind nodes of ${iv}` };
    case 'lagrange':
      return { opts: { ...base, nodes: 'equidistant' }, setting: `Lagrange interpolation at ${degree + 1} equidistant points of ${iv}` };
  }
}

/** The preset fit of `fn` by `method`, power basis (c0 first), its error on PRESET_INTERVAL. */
export function presetFit(fn: ActivationName, method: FitMethod, degree = PRESET_DEGREE): PresetFit {
  const { opts, setting } = options(fn, method, degree);
  const f = fit(fn, opts);
  const { domain: _domain, ...rest } = f;
  // Rounding leaves ~1e-17 where symmetry gives 0 (tanh's c0, c2; Chebyshev's c3 of an even-looking fit): make those exact.
  const coefficients = toPower(f).coefficients;
  const big = Math.max(...coefficients.map(Math.abs));
  return { ...rest, basis: 'power', coefficients: coefficients.map((c) => (Math.abs(c) < 1e-12 * big ? 0 : c)), setting };
}
