import { describe, expect, it } from 'vitest';
import {
  ALPHAS,
  appRelu,
  clenshawOdd,
  float32Ops,
  measureReluError,
  measureSignError,
  minimaxSign,
  pathName,
  remezOdd,
  SAFE_PATHS,
  SIGN_TABLE,
  signProgram,
  type ElementwiseOps,
} from '../src/approx/index.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';

/** max |p - target| on an even grid of the stage interval (independent of Remez's own extrema search). */
function gridError(coeffs: number[], scale: number, lo: number, hi: number, target: (x: number) => number, points = 20001): number {
  let max = 0;
  for (let i = 0; i < points; i++) {
    const x = lo + ((hi - lo) * i) / (points - 1);
    max = Math.max(max, Math.abs(clenshawOdd(coeffs, x / scale) - target(x)));
  }
  return max;
}

describe('minimax composite sign p_alpha and AppReLU r_alpha', () => {
  it.each(ALPHAS.map((a) => [a]))('alpha %i: every stage equioscillates, tau_k <= 2^-(alpha-1), errors within bounds in every safe path', (alpha) => {
    const sign = minimaxSign({ alpha });
    expect(sign.degrees).toEqual(SIGN_TABLE[alpha]!.degrees);
    expect(sign.eps).toBe(SIGN_TABLE[alpha]!.zeta * 2 ** -alpha);
    for (const s of sign.stages) {
      expect(s.converged).toBe(true);
      expect(s.levelSpread).toBeLessThan(1e-9);
      // the reported tau is the true max on the interval: a dense grid never exceeds it and comes close
      const g = gridError(s.chebyshevOdd, s.scale, s.interval[0], s.interval[1], () => 1);
      expect(g).toBeLessThanOrEqual(s.error * (1 + 1e-9));
      expect(g).toBeGreaterThan(s.error * (1 - 1e-3));
    }
    expect(sign.error).toBeLessThanOrEqual(2 ** -(alpha - 1));
    for (const path of SAFE_PATHS) {
      const se = measureSignError(sign, path);
      expect(se.max, `p_alpha vs sgn, ${pathName(path)}`).toBeLessThanOrEqual(2 ** -(alpha - 1));
      const re = measureReluError(sign, path);
      expect(re.max, `r_alpha vs ReLU, ${pathName(path)}`).toBeLessThanOrEqual(2 ** -alpha);
    }
  });

  it('degree 27 and 29 stages converge to level spread < 1e-9', () => {
    const degrees = ALPHAS.flatMap((alpha) => minimaxSign({ alpha }).stages.filter((s) => s.degree >= 27).map((s) => [s.degree, s.levelSpread] as const));
    expect(degrees.map(([d]) => d).sort()).toEqual([27, 27, 27, 27, 29]);
    for (const [, spread] of degrees) expect(spread).toBeLessThan(1e-9);
  });

  it('float32 Horner on the power-basis coefficients loses the bound (why Clenshaw is the float32 path)', () => {
    const sign = minimaxSign({ alpha: 12 });
    expect(Math.max(...sign.stages.flatMap((s) => s.powerOdd.map(Math.abs)))).toBeGreaterThan(1e3);
    expect(measureReluError(sign, { basis: 'power', precision: 'float32' }).max).toBeGreaterThan(2 ** -12);
    // the same coefficients are fine in float64
    expect(measureReluError(sign, { basis: 'power', precision: 'float64' }).max).toBeLessThanOrEqual(2 ** -12);
  });

  it('tfjs (wasm backend) computes the float32 path bit for bit as the Float32Array emulation', async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    const tfOps: ElementwiseOps<tf.Tensor> = {
      add: (a, b) => tf.add(a, b),
      sub: (a, b) => tf.sub(a, b),
      mul: (a, b) => tf.mul(a, b),
      scale: (a, s) => tf.mul(a, tf.scalar(s)),
      shift: (a, s) => tf.add(a, tf.scalar(s)),
      fill: (like, v) => tf.fill(like.shape, v),
    };
    const n = 20001;
    const xs = Float32Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1));
    for (const alpha of [9, 14]) {
      const sign = minimaxSign({ alpha });
      const viaTf = tf.tidy(() => signProgram(tfOps, sign, tf.tensor1d(xs), 'chebyshev').dataSync());
      const emulated = signProgram(float32Ops, sign, xs, 'chebyshev');
      expect(Array.from(viaTf)).toEqual(Array.from(emulated));
    }
  });

  it('scaled AppReLU B r_alpha(x / B) stays within B 2^-alpha on [-B, B]', () => {
    for (const [alpha, bound] of [[6, 4], [10, 16], [14, 2.5]] as const) {
      const r = appRelu(alpha, { bound });
      expect(r.errorBound).toBe(bound * 2 ** -alpha);
      for (const path of SAFE_PATHS) {
        expect(measureReluError(r.sign, path, { bound }).max).toBeLessThanOrEqual(r.errorBound);
      }
      expect(r.evaluate(bound)).toBeCloseTo(bound, 0);
      expect(Math.abs(r.evaluate(-bound))).toBeLessThanOrEqual(r.errorBound);
      expect(Array.from(r.evaluateMany([bound / 2]))).toEqual([r.evaluate(bound / 2)]);
    }
  });

  it('Remez approximates other odd targets and reports non-convergence', () => {
    const r = remezOdd({ degree: 5, interval: [0.1, 1.5], target: Math.sin });
    expect(r.converged).toBe(true);
    expect(r.reference).toHaveLength(4);
    // equioscillation: alternating signs, equal magnitudes
    for (let i = 1; i < r.levels.length; i++) expect(Math.sign(r.levels[i]!)).toBe(-Math.sign(r.levels[i - 1]!));
    expect(gridError(r.chebyshevOdd, r.scale, 0.1, 1.5, Math.sin)).toBeLessThanOrEqual(r.error * (1 + 1e-9));
    // a target the degree represents exactly converges with zero error
    const exact = remezOdd({ degree: 3, interval: [0.2, 1], target: (x) => x - 2 * x ** 3 });
    expect(exact.converged).toBe(true);
    expect(exact.error).toBeLessThan(1e-14);

    const short = remezOdd({ degree: 15, interval: [0.01, 1], maxIterations: 1 });
    expect(short.converged).toBe(false);
    expect(short.iterations).toBe(1);
    expect(() => minimaxSign({ alpha: 9, tolerance: 1e-30 })).toThrow(/Remez did not equioscillate at stage 1 \(degree 15/);
    const loose = minimaxSign({ alpha: 9, tolerance: 1e-30, allowUnconverged: true });
    expect(loose.stages[0]!.converged).toBe(false);
  });

  it('explicit degrees and zeta work outside the table', () => {
    const s = minimaxSign({ alpha: 3, zeta: 3, degrees: [5] });
    expect(s.stages).toHaveLength(1);
    expect(s.error).toBeLessThan(2 ** -2);
    expect(measureReluError(s).max).toBeLessThanOrEqual(2 ** -3);
  });

  it('rejects bad input with a clear error', () => {
    expect(() => minimaxSign({ alpha: 3 })).toThrow('alpha must be 4..14 when no degrees are given, got 3');
    expect(() => minimaxSign({ alpha: 15 })).toThrow('alpha must be 4..14 when no degrees are given, got 15');
    expect(() => minimaxSign({ alpha: 3, degrees: [5] })).toThrow(/zeta is required/);
    expect(() => minimaxSign({ alpha: 8, degrees: [7, 4] })).toThrow('degree must be an odd integer >= 1, got 4');
    expect(() => minimaxSign({ alpha: 8, degrees: [0] })).toThrow('degree must be an odd integer >= 1, got 0');
    expect(() => minimaxSign({ alpha: 8, degrees: [] })).toThrow(/at least one stage/);
    expect(() => minimaxSign({ alpha: 1, zeta: 4, degrees: [5] })).toThrow(/must lie in \(0, 1\)/);
    expect(() => remezOdd({ degree: 5, interval: [0.5, 0.5] })).toThrow('interval [0.5, 0.5] is empty: need lo < hi');
    expect(() => remezOdd({ degree: 5, interval: [0, 1] })).toThrow(/inside \(0, inf\)/);
    expect(() => appRelu(8, { bound: 0 })).toThrow(/bound B must be/);
  });
});
