import { describe, expect, it } from 'vitest';
import {
  ALPHAS,
  appMax,
  appMax2,
  appMaxErrorBound,
  appMaxInputRange,
  appMaxProgram,
  appMaxScale,
  appMaxScaled,
  appMaxScaledProgram,
  appRelu,
  evaluateSign,
  float32Ops,
  float64Ops,
  minimaxSign,
} from '../src/approx/index.js';

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

/** n columns of `count` uniform values in [lo, hi]. */
function columns(n: number, count: number, lo: number, hi: number, rnd: () => number): Float64Array[] {
  return Array.from({ length: n }, () => Float64Array.from({ length: count }, () => lo + (hi - lo) * rnd()));
}

function maxError(out: ArrayLike<number>, cols: Float64Array[]): number {
  let e = 0;
  for (let i = 0; i < out.length; i++) {
    let m = -Infinity;
    for (const c of cols) m = Math.max(m, c[i]!);
    e = Math.max(e, Math.abs(out[i]! - m));
  }
  return e;
}

describe('AppMax (Theorem 2)', () => {
  it('m_alpha(a, b) = ((a + b) + (a - b) p(a - b)) / 2 and m_alpha(x, 0) = r_alpha(x)', () => {
    const sign = minimaxSign({ alpha: 10 });
    const [a, b] = [0.71, 0.3];
    expect(appMax2(sign, a, b)).toBeCloseTo((a + b + (a - b) * evaluateSign(sign, a - b)) / 2, 15);
    const r = appRelu(10);
    for (const x of [-0.9, -0.01, 0.004, 0.5]) expect(appMax2(sign, x, 0)).toBeCloseTo(r.evaluate(x), 15);
    expect(appMax(sign, [0.25])).toBe(0.25);
    expect(() => appMax(sign, [])).toThrow(/at least one value/);
  });

  it.each(ALPHAS.map((a) => [a]))('alpha %i: M_{alpha,n} within ceil(log2 n) 2^-alpha on random inputs in the theorem range (float64, float32)', (alpha) => {
    const sign = minimaxSign({ alpha });
    const rnd = lcg(alpha);
    for (const n of [2, 3, 4, 5, 7, 9, 16]) {
      const [lo, hi] = appMaxInputRange(alpha, n);
      const cols = columns(n, 1500, lo, hi, rnd);
      // adversarial pairs too: two near-equal maxima, where p(a - b) is least accurate
      cols[1]!.set(cols[0]!.map((v, i) => (i % 3 === 0 ? v + (rnd() - 0.5) * 4 * sign.eps : cols[1]![i]!)).map((v) => Math.min(hi, Math.max(lo, v))));
      const bound = appMaxErrorBound(alpha, n);
      expect(bound).toBe(Math.ceil(Math.log2(n)) * 2 ** -alpha);
      expect(maxError(appMaxProgram(float64Ops, sign, cols), cols), `n = ${n}`).toBeLessThanOrEqual(bound);
      const cols32 = cols.map((c) => Float32Array.from(c));
      const out32 = appMaxProgram(float32Ops, sign, cols32);
      expect(maxError(out32, cols32.map((c) => Float64Array.from(c))), `float32, n = ${n}`).toBeLessThanOrEqual(bound);
    }
  });

  it('scaled AppMax on [-B, B] within B\' 2^-alpha', () => {
    const rnd = lcg(7);
    for (const [alpha, n, bound] of [[8, 4, 3], [12, 9, 10], [14, 4, 1]] as const) {
      const sign = minimaxSign({ alpha });
      const bp = appMaxScale(alpha, n, bound);
      expect(bp).toBeCloseTo(bound / (0.5 - (Math.ceil(Math.log2(n)) - 1) * 2 ** -alpha), 12);
      const cols = columns(n, 2000, -bound, bound, rnd);
      expect(maxError(appMaxScaledProgram(float64Ops, sign, cols, bound), cols)).toBeLessThanOrEqual(bp * appMaxErrorBound(alpha, n));
      const xs = cols.map((c) => c[0]!);
      expect(Math.abs(appMaxScaled(sign, xs, bound) - Math.max(...xs))).toBeLessThanOrEqual(bp * appMaxErrorBound(alpha, n));
    }
    expect(() => appMaxScale(4, 2 ** 20, 1)).toThrow(/too small/);
  });
});
