import { describe, expect, it } from 'vitest';
import {
  activation,
  chebyshevInterpolation,
  chebyshevNodes,
  evaluate,
  fit,
  fitLeastSquares,
  lagrangeInterpolation,
  taylorSeries,
  toChebyshev,
  toPower,
  type Polynomial,
  type TargetFunction,
} from '../src/approx/index.js';

const cubic: Polynomial = { basis: 'power', coefficients: [0.3, -1.2, 0.5, 2] };
const cubicTarget: TargetFunction = { name: 'cubic', f: (x) => evaluate(cubic, x) };

describe('low-degree fits', () => {
  it('least squares of a polynomial of the same degree is exact (uniform and normal samples)', () => {
    const u = fitLeastSquares(cubicTarget, 3, { kind: 'uniform', interval: [-2, 3], count: 500 });
    const n = fitLeastSquares(cubicTarget, 3, { kind: 'normal', mu: 0.5, sigma: 1.2, count: 500 });
    for (const f of [u, n]) {
      expect(f.basis).toBe('power');
      f.coefficients.forEach((c, k) => expect(c).toBeCloseTo(cubic.coefficients[k]!, 10));
      expect(f.error.max).toBeLessThan(1e-10);
    }
    expect(u.interval).toEqual([-2, 3]);
    expect(n.interval[0]).toBeCloseTo(0.5 - 3.6, 12);
    // a higher degree than the data needs: the extra coefficients vanish
    const over = fitLeastSquares(cubicTarget, 6, { kind: 'uniform', interval: [-1, 1], count: 300 });
    over.coefficients.slice(4).forEach((c) => expect(Math.abs(c)).toBeLessThan(1e-9));
  });

  it('least squares on samples matches the seed setting: degree-3 Leaky ReLU, N(0, 1.2^2)', () => {
    const f = fit('leaky-relu', { method: 'lstsq', degree: 3, sampling: 'normal', sigma: 1.2, slope: 0.1 });
    expect(f.fn).toBe('leaky-relu(0.1)');
    expect(f.coefficients).toHaveLength(4);
    expect(f.coefficients[1]).toBeGreaterThan(0.5); // mostly the slope (1 + 0.1) / 2 plus curvature
    expect(f.error.max).toBeGreaterThan(f.error.mean);
    expect(f.error.mean).toBeGreaterThan(0);
    // deterministic for a seed
    expect(fit('leaky-relu', { method: 'lstsq', degree: 3, sampling: 'normal', sigma: 1.2, slope: 0.1 }).coefficients).toEqual(f.coefficients);
  });

  it.each([['relu'], ['leaky-relu'], ['swish'], ['tanh'], ['sigmoid']] as const)('Chebyshev and Lagrange interpolation of %s are exact at the nodes', (name) => {
    const target = activation(name, { slope: 0.2 });
    for (const degree of [1, 2, 3, 4, 7, 10]) {
      const interval = [-3, 2] as const;
      const ch = chebyshevInterpolation(target, degree, interval);
      expect(ch.basis).toBe('chebyshev');
      expect(ch.nodes).toEqual(chebyshevNodes(degree + 1, interval));
      for (const x of ch.nodes!) expect(evaluate(ch, x)).toBeCloseTo(target.f(x), 12);
      for (const nodes of ['equidistant', 'chebyshev'] as const) {
        const la = lagrangeInterpolation(target, degree, interval, nodes);
        expect(la.nodes).toHaveLength(degree + 1);
        if (nodes === 'equidistant') expect([la.nodes![0], la.nodes![degree]]).toEqual([-3, 2]);
        for (const x of la.nodes!) expect(evaluate(la, x)).toBeCloseTo(target.f(x), 10);
        if (nodes === 'chebyshev') for (const x of [-2.5, 0.1, 1.9]) expect(evaluate(la, x)).toBeCloseTo(evaluate(ch, x), 9);
      }
    }
  });

  it('Taylor series: exact coefficients of sigmoid, tanh, swish at 0 and derivatives elsewhere', () => {
    const close = (a: number[], b: number[]): void => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 13));
    close(taylorSeries(activation('sigmoid'), 5, 0).coefficients, [1 / 2, 1 / 4, 0, -1 / 48, 0, 1 / 480]);
    close(taylorSeries(activation('tanh'), 5, 0).coefficients, [0, 1, 0, -1 / 3, 0, 2 / 15]);
    close(taylorSeries(activation('swish'), 4, 0).coefficients, [0, 1 / 2, 1 / 4, 0, -1 / 48]);
    // at x0 = 0.7 the series in (x - x0): value, f', f''/2 of tanh
    const x0 = 0.7;
    const t = activation('tanh').taylor!(x0, 2)!;
    const th = Math.tanh(x0);
    close(t, [th, 1 - th * th, -th * (1 - th * th)]);
    // the returned power-basis polynomial agrees with the series near x0
    const p = taylorSeries(activation('tanh'), 9, x0);
    expect(evaluate(p, x0 + 0.05)).toBeCloseTo(Math.tanh(x0 + 0.05), 12);
    expect(p.interval).toEqual([x0 - 1, x0 + 1]);
    // piecewise linear away from the kink
    close(taylorSeries(activation('leaky-relu', { slope: 0.2 }), 3, -1).coefficients, [0, 0.2, 0, 0]);
    close(taylorSeries(activation('relu'), 2, 0.5).coefficients, [0, 1, 0]);
  });

  it('Taylor at a kink needs a scale (SciPy-style estimate from Chebyshev points)', () => {
    expect(() => taylorSeries(activation('relu'), 3, 0)).toThrow('relu is not differentiable at 0: give a scale to estimate the series from nearby samples');
    const est = taylorSeries(activation('relu'), 3, 0, { scale: 1 });
    expect(est.nodes).toHaveLength(4);
    for (const x of est.nodes!) expect(evaluate(est, x)).toBeCloseTo(Math.max(x, 0), 12);
    // a smooth function: the estimate approaches the exact series as the scale shrinks
    const exact = taylorSeries(activation('sigmoid'), 3, 0.3).coefficients;
    const approx = taylorSeries(activation('sigmoid'), 3, 0.3, { scale: 1e-2 }).coefficients;
    approx.forEach((c, k) => expect(c).toBeCloseTo(exact[k]!, 4));
  });

  it('power <-> Chebyshev conversions round-trip', () => {
    const ch = toChebyshev(cubic, [-2, 5]);
    expect(ch.coefficients).toHaveLength(4);
    toPower(ch).coefficients.forEach((c, k) => expect(c).toBeCloseTo(cubic.coefficients[k]!, 12));
    for (const x of [-2, 0.3, 5]) expect(evaluate(ch, x)).toBeCloseTo(evaluate(cubic, x), 12);
  });

  it('rejects bad input with a clear error', () => {
    const relu = activation('relu');
    expect(() => chebyshevInterpolation(relu, 0, [-1, 1])).toThrow('degree must be an integer >= 1, got 0');
    expect(() => lagrangeInterpolation(relu, 2.5, [-1, 1])).toThrow('degree must be an integer >= 1, got 2.5');
    expect(() => chebyshevInterpolation(relu, 3, [1, -1])).toThrow('interval [1, -1] is empty: need lo < hi');
    expect(() => fit('relu', { method: 'lstsq', degree: 3, interval: [2, 2] })).toThrow('sampling range [2, 2] is empty: need lo < hi');
    expect(() => fit('relu', { method: 'lstsq', degree: 3, sampling: 'normal', sigma: 0 })).toThrow('sigma must be > 0, got 0');
    expect(() => fit('gelu', { method: 'lstsq', degree: 3 })).toThrow(/unknown function 'gelu'/);
    expect(() => fit('relu', { method: 'spline' as never, degree: 3 })).toThrow(/unknown fit method 'spline'/);
    expect(() => fit('relu', { method: 'taylor', degree: 3, scale: -1 })).toThrow('Taylor scale must be > 0, got -1');
    expect(() => fitLeastSquares(relu, 5, { kind: 'uniform', interval: [0, 1], count: 3 })).toThrow(/at least as many samples/);
  });
});
