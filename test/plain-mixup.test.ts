/** Mixup (sturdy-PANN seed, eq. 21, lambda ~ Beta(0.5, 0.5)) and the seeded generator behind it. */
import { describe, expect, it } from 'vitest';
import { mixBatch, mixup, oneHot } from '../src/plain/mixup.js';
import { deriveSeed, Rng } from '../src/common/random.js';

describe('mixup', () => {
  const n = 8;
  const size = 5;
  const classes = 4;
  const x = Float32Array.from({ length: n * size }, (_, i) => i * 0.5 - 3);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];

  it('mixes labels to sum to 1 with weight lambda on the own class and 1 - lambda on the partner\'s', () => {
    const partner = Uint32Array.from([1, 0, 3, 2, 6, 7, 5, 4]);
    const lambda = 0.3;
    const m = mixBatch(x, labels, classes, lambda, partner);
    for (let i = 0; i < n; i++) {
      const row = Array.from(m.y.subarray(i * classes, (i + 1) * classes));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      const own = labels[i]!;
      const other = labels[partner[i]!]!;
      if (own === other) {
        expect(row[own]).toBeCloseTo(1, 6);
      } else {
        expect(row[own]).toBeCloseTo(lambda, 6);
        expect(row[other]).toBeCloseTo(1 - lambda, 6);
      }
      expect(row.filter((v) => v !== 0).length).toBe(own === other ? 1 : 2);
      for (let p = 0; p < size; p++) {
        expect(m.x[i * size + p]).toBeCloseTo(lambda * x[i * size + p]! + (1 - lambda) * x[partner[i]! * size + p]!, 5);
      }
    }
  });

  it('draws lambda from Beta(0.5, 0.5): mean 1/2, variance 1/8, U-shaped', () => {
    const rng = new Rng(42);
    const draws: number[] = [];
    for (let i = 0; i < 40_000; i++) draws.push(rng.beta(0.5, 0.5));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    const variance = draws.reduce((a, b) => a + (b - mean) ** 2, 0) / draws.length;
    expect(draws.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(variance - 0.125)).toBeLessThan(0.005);
    // Arcsine law: P(lambda < 0.1) = (2/pi) asin(sqrt(0.1)) = 0.2048; the middle fifth is much rarer.
    const low = draws.filter((v) => v < 0.1).length / draws.length;
    const mid = draws.filter((v) => v > 0.4 && v < 0.6).length / draws.length;
    expect(Math.abs(low - 0.2048)).toBeLessThan(0.01);
    expect(Math.abs(mid - 0.1282)).toBeLessThan(0.01);
  });

  it('mixup() reports the lambda and partners it used, and its labels match them', () => {
    const m = mixup(x, labels, classes, new Rng(7));
    expect(m.lambda).toBeGreaterThanOrEqual(0);
    expect(m.lambda).toBeLessThanOrEqual(1);
    expect([...m.partner].sort()).toEqual([...Array(n).keys()]);
    const again = mixBatch(x, labels, classes, m.lambda, m.partner);
    expect(again.y).toEqual(m.y);
    expect(again.x).toEqual(m.x);
  });

  it('oneHot and argument checks', () => {
    expect(Array.from(oneHot([2, 0], 3))).toEqual([0, 0, 1, 1, 0, 0]);
    expect(() => mixBatch(x, labels, classes, 1.5, Uint32Array.from(labels))).toThrow(/lambda/);
    expect(() => mixBatch(x, labels, classes, 0.5, new Uint32Array(3))).toThrow(/partners/);
  });
});

describe('seeded randomness', () => {
  it('is reproducible and derived streams differ', () => {
    const a = new Rng(deriveSeed(1, 2, 3));
    const b = new Rng(deriveSeed(1, 2, 3));
    const seqA = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(seqA);
    expect(deriveSeed(1, 2, 3)).not.toBe(deriveSeed(1, 3, 2));
    expect(deriveSeed(1, 2)).not.toBe(deriveSeed(2, 2));
  });

  it('draws permutations and standard normals', () => {
    const rng = new Rng(3);
    const p = rng.permutation(100);
    expect([...p].sort((x, y) => x - y)).toEqual([...Array(100).keys()]);
    const z = Array.from({ length: 50_000 }, () => rng.normal());
    const mean = z.reduce((s, v) => s + v, 0) / z.length;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });
});
