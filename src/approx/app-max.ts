/**
 * AppMax (seed precise-minimax-relu-maxpool, section 3.2).
 * m_alpha(a, b) = ((a + b) + (a - b) p_alpha(a - b)) / 2, within 2^-alpha of
 * max(a, b) for a, b in [0, 1]; the n-value M_{alpha,n} by the balanced
 * recursion (6): M_n = m(M_k(first k), M_k(rest)) for n = 2k and
 * m(M_k(first k), M_{k+1}(rest)) for n = 2k + 1, depth ceil(log2 n), error
 * <= ceil(log2 n) 2^-alpha on [(ceil(log2 n) - 1) 2^-alpha, 1 - (ceil(log2 n) - 1) 2^-alpha]
 * (Theorem 2). On [-B, B]: B' (M(x / B' + 1/2) - 1/2) with
 * B' = B / (1/2 - (ceil(log2 n) - 1) 2^-alpha), error <= B' 2^-alpha. (The
 * seed's equation (7) omits the "- 1/2" that undoes the shift.)
 */
import { numberOps, type ElementwiseOps } from './elementwise.js';
import type { Interval } from './polynomial.js';
import type { CompositeSign } from './minimax-sign.js';
import { signProgram, type StageBasis } from './sign-eval.js';

export function appMax2Program<T>(ops: ElementwiseOps<T>, sign: CompositeSign, a: T, b: T, basis: StageBasis = 'chebyshev'): T {
  const d = ops.sub(a, b);
  const p = signProgram(ops, sign, d, basis);
  return ops.scale(ops.add(ops.add(a, b), ops.mul(d, p)), 0.5);
}

/** M_{alpha,n}(xs) by recursion (6). */
export function appMaxProgram<T>(ops: ElementwiseOps<T>, sign: CompositeSign, xs: readonly T[], basis: StageBasis = 'chebyshev'): T {
  const n = xs.length;
  if (n === 0) throw new Error('AppMax needs at least one value');
  if (n === 1) return xs[0]!;
  const k = n >> 1;
  return appMax2Program(ops, sign, appMaxProgram(ops, sign, xs.slice(0, k), basis), appMaxProgram(ops, sign, xs.slice(k), basis), basis);
}

const levels = (n: number): number => Math.ceil(Math.log2(n));

/** Theorem 2's error bound ceil(log2 n) 2^-alpha. */
export function appMaxErrorBound(alpha: number, n: number): number {
  return levels(n) * 2 ** -alpha;
}

/** Theorem 2's input range [(c - 1) 2^-alpha, 1 - (c - 1) 2^-alpha], c = ceil(log2 n). */
export function appMaxInputRange(alpha: number, n: number): Interval {
  const s = Math.max(levels(n) - 1, 0) * 2 ** -alpha;
  return [s, 1 - s];
}

/** B' of the scaled version for inputs in [-B, B]; its error bound is B' 2^-alpha. */
export function appMaxScale(alpha: number, n: number, bound: number): number {
  const half = 0.5 - Math.max(levels(n) - 1, 0) * 2 ** -alpha;
  if (!(half > 0)) throw new Error(`alpha ${alpha} is too small for ${n} values: (ceil(log2 n) - 1) 2^-alpha must be below 1/2`);
  if (!(bound > 0) || !Number.isFinite(bound)) throw new Error(`bound B must be a finite number > 0, got ${bound}`);
  return bound / half;
}

/** B' (M(x / B' + 1/2) - 1/2) for inputs in [-B, B]. */
export function appMaxScaledProgram<T>(ops: ElementwiseOps<T>, sign: CompositeSign, xs: readonly T[], bound: number, basis: StageBasis = 'chebyshev'): T {
  const bp = appMaxScale(sign.alpha, xs.length, bound);
  const shifted = xs.map((x) => ops.shift(ops.scale(x, 1 / bp), 0.5));
  return ops.scale(ops.shift(appMaxProgram(ops, sign, shifted, basis), -0.5), bp);
}

/** float64 conveniences. */
export function appMax2(sign: CompositeSign, a: number, b: number): number {
  return appMax2Program(numberOps, sign, a, b);
}

export function appMax(sign: CompositeSign, xs: readonly number[]): number {
  return appMaxProgram(numberOps, sign, xs);
}

export function appMaxScaled(sign: CompositeSign, xs: readonly number[], bound: number): number {
  return appMaxScaledProgram(numberOps, sign, xs, bound);
}
