/**
 * Chebyshev-basis building blocks (float64): nodes, interpolation
 * coefficients, Clenshaw summation, derivative, basis conversion.
 * Standard results, e.g. Trefethen, "Approximation Theory and Approximation
 * Practice", chapters 3-4, and Mason & Handscomb, "Chebyshev Polynomials", 2.4.
 */
import type { Interval } from './polynomial.js';

/**
 * The n Chebyshev nodes of the first kind (roots of T_n) on [lo, hi],
 * ascending. They avoid the end points and keep interpolation well conditioned.
 */
export function chebyshevNodes(n: number, interval: Interval): number[] {
  const [lo, hi] = interval;
  const mid = (lo + hi) / 2;
  const half = (hi - lo) / 2;
  const out: number[] = [];
  for (let k = n - 1; k >= 0; k--) out.push(mid + half * Math.cos((Math.PI * (k + 0.5)) / n));
  return out;
}

/**
 * Coefficients c_0..c_degree (T_k(u), u the unit variable of `interval`) of
 * the polynomial interpolating f at the degree + 1 first-kind nodes, by the
 * discrete cosine sum (Numerical Recipes' chebft, Trefethen ch. 3).
 */
export function chebyshevInterpolationCoefficients(f: (x: number) => number, degree: number, interval: Interval): number[] {
  const n = degree + 1;
  const [lo, hi] = interval;
  const mid = (lo + hi) / 2;
  const half = (hi - lo) / 2;
  const fk: number[] = [];
  for (let k = 0; k < n; k++) fk.push(f(mid + half * Math.cos((Math.PI * (k + 0.5)) / n)));
  const c: number[] = [];
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += fk[k]! * Math.cos((Math.PI * j * (k + 0.5)) / n);
    c.push((j === 0 ? 1 : 2) * s / n);
  }
  return c;
}

/** sum_k c_k T_k(u) by Clenshaw's recurrence: b_k = c_k + 2u b_{k+1} - b_{k+2}, value b_0 - u b_1. */
export function clenshaw(c: ArrayLike<number>, u: number): number {
  let b1 = 0;
  let b2 = 0;
  for (let k = c.length - 1; k >= 1; k--) {
    const b0 = c[k]! + 2 * u * b1 - b2;
    b2 = b1;
    b1 = b0;
  }
  return (c.length ? c[0]! : 0) + u * b1 - b2;
}

/**
 * sum_j a_j T_{2j+1}(t) for an odd series, with the two-step recurrence
 * T_{n+2} = 2 T_2(t) T_n - T_{n-2}: b_j = a_j + 2w b_{j+1} - b_{j+2}
 * (w = T_2(t) = 2t^2 - 1), value t (b_0 - b_1). Half the work of the full
 * series and it never touches the zero even coefficients.
 */
export function clenshawOdd(a: ArrayLike<number>, t: number): number {
  const w2 = 2 * (2 * t * t - 1);
  let b1 = 0;
  let b2 = 0;
  for (let j = a.length - 1; j >= 0; j--) {
    const b0 = a[j]! + w2 * b1 - b2;
    b2 = b1;
    b1 = b0;
  }
  // b1 now holds b_0 and b2 holds b_1
  return t * (b1 - b2);
}

/** Chebyshev coefficients of d/du of sum_k c_k T_k(u) (Mason & Handscomb 2.4.5). */
export function chebyshevDerivative(c: ArrayLike<number>): number[] {
  const n = c.length - 1;
  if (n < 1) return [0];
  const d = new Array<number>(n + 1).fill(0);
  for (let k = n; k >= 1; k--) d[k - 1] = (k + 1 <= n ? d[k + 1]! : 0) + 2 * k * c[k]!;
  d[0]! /= 2;
  d.length = n;
  return d;
}

/** Power-basis coefficients in u of sum_k c_k T_k(u), via T_{k+1} = 2u T_k - T_{k-1}. */
export function chebyshevToPowerUnit(c: ArrayLike<number>): number[] {
  const n = c.length;
  const out = new Array<number>(Math.max(n, 1)).fill(0);
  let prev: number[] = [1];
  let cur: number[] = [0, 1];
  for (let k = 0; k < n; k++) {
    const tk = k === 0 ? prev : cur;
    for (let i = 0; i < tk.length; i++) out[i]! += c[k]! * tk[i]!;
    if (k >= 1) {
      const next = new Array<number>(cur.length + 1).fill(0);
      for (let i = 0; i < cur.length; i++) next[i + 1]! += 2 * cur[i]!;
      for (let i = 0; i < prev.length; i++) next[i]! -= prev[i]!;
      prev = cur;
      cur = next;
    }
  }
  return out;
}

/** Coefficients in x of q(x) = p(s x + t), p given by power coefficients (Horner on polynomials). */
export function composeAffine(p: ArrayLike<number>, s: number, t: number): number[] {
  const n = p.length;
  let acc: number[] = [0];
  for (let k = n - 1; k >= 0; k--) {
    const next = new Array<number>(acc.length + 1).fill(0);
    for (let i = 0; i < acc.length; i++) {
      next[i]! += t * acc[i]!;
      next[i + 1]! += s * acc[i]!;
    }
    next[0]! += p[k]!;
    acc = next;
  }
  acc.length = Math.max(n, 1);
  return acc;
}
