/**
 * Evaluation paths for p_alpha and AppReLU and what they are measured to
 * keep. A path is a stage basis (Chebyshev / Clenshaw or power / Horner) and a
 * precision (float64, float32 as tfjs computes, or fixed point with f
 * fractional bits as the MPC path computes).
 *
 * APPROX.md: power-basis coefficients reach ~1e5, so float32 Horner loses the
 * precision the polynomial promises; Clenshaw on the Chebyshev coefficients
 * (all of size <~ 1.3) keeps it. `measureReluError` checks a path against the
 * 2^-alpha bound on a dense float grid; test/approx-minimax.test.ts runs it for
 * every alpha and every path listed in SAFE_PATHS.
 *
 * Measured (max |r_alpha - ReLU| on [-1, 1], alpha 4..14; `mpcnet approx table`):
 * - float64, Clenshaw or Horner: safe; the two agree to 5 digits.
 * - float32 Clenshaw: safe; it differs from float64 by at most 6e-7 absolute,
 *   and reluMaxError is unchanged to 5 digits.
 * - float32 Horner: NOT safe: over the bound at alpha 9 and 11..14 (2.9e-3 up
 *   to overflow).
 * - fixed point, Clenshaw (deterministic floor truncation; the protocols may add
 *   one more ulp): f = 16 holds to alpha 11 (alpha 12 lands exactly on the bound,
 *   13 and 14 fail), f = 20 holds to alpha 13 (alpha 14 exactly on the bound),
 *   and f = 24 holds for all. Power-basis Horner in fixed point fails from
 *   alpha 8 (f = 16) and from alpha 11 (f = 24).
 */
import { float32Ops, float64Ops, fixedPointOps, fromFixed, toFixed, type ElementwiseOps } from './elementwise.js';
import { appReluProgram } from './app-relu.js';
import type { CompositeSign } from './minimax-sign.js';
import { signProgram, type StageBasis } from './sign-eval.js';

export type Precision = 'float64' | 'float32' | { fixedBits: number };

export interface EvalPath {
  basis: StageBasis;
  precision: Precision;
}

/** Paths measured to keep |r_alpha - ReLU| <= 2^-alpha on [-1, 1] for every alpha 4..14. */
export const SAFE_PATHS: readonly EvalPath[] = [
  { basis: 'chebyshev', precision: 'float64' },
  { basis: 'power', precision: 'float64' },
  { basis: 'chebyshev', precision: 'float32' },
];

export function pathName(path: EvalPath): string {
  const p = typeof path.precision === 'string' ? path.precision : `fixed(f=${path.precision.fixedBits})`;
  return `${p}/${path.basis === 'chebyshev' ? 'clenshaw' : 'horner'}`;
}

/** Runs a program on xs in the path's precision; inputs are first rounded to it (tfjs holds float32). */
function inPrecision(precision: Precision, xs: ArrayLike<number>, program: <T>(ops: ElementwiseOps<T>, x: T) => T): { inputs: Float64Array; outputs: Float64Array } {
  if (precision === 'float64') {
    const x = Float64Array.from(xs);
    return { inputs: x, outputs: program(float64Ops, x) };
  }
  if (precision === 'float32') {
    const x = Float32Array.from(xs);
    return { inputs: Float64Array.from(x), outputs: Float64Array.from(program(float32Ops, x)) };
  }
  const f = precision.fixedBits;
  const x = toFixed(xs, f);
  return { inputs: fromFixed(x, f), outputs: fromFixed(program(fixedPointOps(f), x), f) };
}

/** p_alpha on xs in the given path; `inputs` are the values actually fed in. */
export function evaluateSignPath(sign: CompositeSign, xs: ArrayLike<number>, path: EvalPath): { inputs: Float64Array; outputs: Float64Array } {
  return inPrecision(path.precision, xs, (ops, x) => signProgram(ops, sign, x, path.basis));
}

/** B r_alpha(x / B) on xs in the given path. */
export function evaluateReluPath(sign: CompositeSign, xs: ArrayLike<number>, path: EvalPath, bound = 1): { inputs: Float64Array; outputs: Float64Array } {
  return inPrecision(path.precision, xs, (ops, x) => appReluProgram(ops, sign, x, { bound, basis: path.basis }));
}

export interface PointError {
  max: number;
  /** Where the max is attained. */
  at: number;
}

/**
 * The dense grid for reluMaxError: 2^17 + 1 even points on [-1, 1] plus 2^14 + 1
 * on [-2 eps, 2 eps], where r_alpha turns (eps = zeta 2^-alpha).
 */
export function reluGrid(sign: CompositeSign, points = 2 ** 17 + 1): Float64Array {
  const fine = 2 ** 14 + 1;
  const out = new Float64Array(points + fine);
  for (let i = 0; i < points; i++) out[i] = -1 + (2 * i) / (points - 1);
  const w = 2 * sign.eps;
  for (let i = 0; i < fine; i++) out[points + i] = -w + (2 * w * i) / (fine - 1);
  return out;
}

/** max |B r_alpha(x / B) - ReLU(x)| over the grid (default: reluGrid scaled by B) in the given path. */
export function measureReluError(sign: CompositeSign, path: EvalPath = { basis: 'chebyshev', precision: 'float64' }, opts: { bound?: number; grid?: ArrayLike<number> } = {}): PointError {
  const bound = opts.bound ?? 1;
  const grid = opts.grid ?? reluGrid(sign).map((x) => x * bound);
  const { inputs, outputs } = evaluateReluPath(sign, grid, path, bound);
  let max = 0;
  let at = NaN;
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i]!;
    const e = Math.abs(outputs[i]! - (x > 0 ? x : 0));
    if (!(e <= max)) {
      max = e;
      at = x;
    }
  }
  return { max, at };
}

/** max |p_alpha - sgn| on [-1, -eps] U [eps, 1] (even grid of `points` per side) in the given path. */
export function measureSignError(sign: CompositeSign, path: EvalPath = { basis: 'chebyshev', precision: 'float64' }, points = 2 ** 16 + 1): PointError {
  const xs = new Float64Array(2 * points);
  for (let i = 0; i < points; i++) {
    const x = sign.eps + ((1 - sign.eps) * i) / (points - 1);
    xs[i] = x;
    xs[points + i] = -x;
  }
  const { inputs, outputs } = evaluateSignPath(sign, xs, path);
  let max = 0;
  let at = NaN;
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i]!;
    if (Math.abs(x) < sign.eps) continue; // rounding moved it out of the set
    const e = Math.abs(outputs[i]! - Math.sign(x));
    if (!(e <= max)) {
      max = e;
      at = x;
    }
  }
  return { max, at };
}
