/**
 * AppReLU (seed precise-minimax-relu-maxpool, section 3.1):
 * r_alpha(x) = (x + x p_alpha(x)) / 2, within 2^-alpha of ReLU on [-1, 1]
 * (Theorem 1), and on [-B, B] the scaled B r_alpha(x / B) = (x + x p_alpha(x / B)) / 2,
 * within B 2^-alpha.
 */
import { numberOps, type ElementwiseOps } from './elementwise.js';
import { minimaxSign, type CompositeSign, type MinimaxSignOptions } from './minimax-sign.js';
import { signProgram, type StageBasis } from './sign-eval.js';

export interface AppReluProgramOptions {
  /** B: the input range [-B, B] (default 1). */
  bound?: number;
  basis?: StageBasis;
}

function checkBound(bound: number): void {
  if (!(bound > 0) || !Number.isFinite(bound)) throw new Error(`bound B must be a finite number > 0, got ${bound}`);
}

/** B r_alpha(x / B) over any ElementwiseOps (tfjs tensors, float32 arrays, fixed point). */
export function appReluProgram<T>(ops: ElementwiseOps<T>, sign: CompositeSign, x: T, opts: AppReluProgramOptions = {}): T {
  const bound = opts.bound ?? 1;
  checkBound(bound);
  // B ((x/B) + (x/B) p(x/B)) / 2 = (x + x p(x/B)) / 2: one scaling fewer
  const p = signProgram(ops, sign, bound === 1 ? x : ops.scale(x, 1 / bound), opts.basis ?? 'chebyshev');
  return ops.scale(ops.add(x, ops.mul(x, p)), 0.5);
}

export interface AppRelu {
  alpha: number;
  bound: number;
  sign: CompositeSign;
  /** B 2^-alpha: the promised max |r - ReLU| on [-B, B]. */
  errorBound: number;
  /** float64 value (Chebyshev-basis stages). */
  evaluate(x: number): number;
  evaluateMany(xs: ArrayLike<number>): Float64Array;
}

export interface AppReluOptions extends Omit<MinimaxSignOptions, 'alpha'> {
  bound?: number;
}

export function appRelu(alpha: number, opts: AppReluOptions = {}): AppRelu {
  const bound = opts.bound ?? 1;
  checkBound(bound);
  const sign = minimaxSign({ ...opts, alpha });
  const evaluate = (x: number): number => appReluProgram(numberOps, sign, x, { bound });
  return {
    alpha,
    bound,
    sign,
    errorBound: bound * 2 ** -alpha,
    evaluate,
    evaluateMany: (xs) => Float64Array.from(xs, evaluate),
  };
}
