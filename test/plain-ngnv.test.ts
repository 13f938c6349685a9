/**
 * NGNV-ReLU (sturdy-PANN seed, section 5.1, eqs. 23-24): only the r fraction
 * of the most negative inputs is perturbed, by lambda * eps * z (gaussian) or
 * lambda * sgn(eps) * z (sign), only in training; inference is exact ReLU;
 * gradients flow through the perturbation.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { selectBackend } from '../src/plain/backend.js';
import { NgnvRelu, ngnvFactors, type NgnvParams } from '../src/plain/activations/ngnv.js';
import { Rng } from '../src/common/random.js';

function inputs(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * 3);
}

function perturbedSet(z: Float32Array, f: Float32Array): { perturbed: number[]; others: number[] } {
  const perturbed: number[] = [];
  const others: number[] = [];
  z.forEach((v, i) => (f[i] !== 0 ? perturbed : others).push(v));
  return { perturbed, others };
}

describe('ngnvFactors', () => {
  const z = inputs(5000, 1);
  const negatives = Array.from(z).filter((v) => v < 0).length;

  for (const r of [0.1, 0.3, 0.5, 1]) {
    it(`perturbs exactly round(r * #negatives) entries, the most negative ones (r = ${r})`, () => {
      const f = ngnvFactors(z, { r, lambda: 0.05, variant: 'gaussian' }, new Rng(2));
      const { perturbed, others } = perturbedSet(z, f);
      expect(perturbed.length).toBe(Math.round(r * negatives));
      expect(Math.max(...perturbed)).toBeLessThan(0);
      // Every perturbed value is at most every unperturbed negative one.
      const otherNegatives = others.filter((v) => v < 0);
      if (otherNegatives.length) expect(Math.max(...perturbed)).toBeLessThanOrEqual(Math.min(...otherNegatives));
    });
  }

  it('perturbs nothing with r = 0 or without negative inputs', () => {
    expect(ngnvFactors(z, { r: 0, lambda: 0.05, variant: 'gaussian' }, new Rng(3)).every((v) => v === 0)).toBe(true);
    const positive = z.map((v) => Math.abs(v) + 0.1);
    expect(ngnvFactors(positive, { r: 0.5, lambda: 0.05, variant: 'gaussian' }, new Rng(3)).every((v) => v === 0)).toBe(true);
  });

  it('takes ties at the threshold in index order, never more than the count', () => {
    const tied = new Float32Array([-1, -2, -2, -2, -2, 3, -1, -2]);
    const f = ngnvFactors(tied, { r: 0.5, lambda: 0.1, variant: 'sign' }, new Rng(4));
    // 7 negatives -> round(3.5) = 4 entries: the first four -2s.
    expect(Array.from(f, (v) => (v !== 0 ? 1 : 0))).toEqual([0, 1, 1, 1, 1, 0, 0, 0]);
  });

  it('gaussian factors are lambda * N(0, 1) (eq. 23)', () => {
    const big = inputs(200_000, 5);
    const lambda = 0.2;
    const f = Array.from(ngnvFactors(big, { r: 1, lambda, variant: 'gaussian' }, new Rng(6))).filter((v) => v !== 0).map((v) => v / lambda);
    const mean = f.reduce((a, b) => a + b, 0) / f.length;
    const variance = f.reduce((a, b) => a + (b - mean) ** 2, 0) / f.length;
    expect(f.length).toBeGreaterThan(90_000);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });

  it('sign factors are +-lambda, about half each (eq. 24)', () => {
    const f = Array.from(ngnvFactors(z, { r: 1, lambda: 0.3, variant: 'sign' }, new Rng(7))).filter((v) => v !== 0);
    expect(f.every((v) => Math.abs(Math.abs(v) - 0.3) < 1e-7)).toBe(true);
    const plus = f.filter((v) => v > 0).length / f.length;
    expect(plus).toBeGreaterThan(0.4);
    expect(plus).toBeLessThan(0.6);
  });

  it('is deterministic in the generator', () => {
    const p: NgnvParams = { r: 0.3, lambda: 0.05, variant: 'gaussian' };
    expect(ngnvFactors(z, p, new Rng(9))).toEqual(ngnvFactors(z, p, new Rng(9)));
    expect(ngnvFactors(z, p, new Rng(9))).not.toEqual(ngnvFactors(z, p, new Rng(10)));
  });
});

describe('NgnvRelu layer', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });
  const shape = [4, 6, 6, 3];
  const zData = inputs(4 * 6 * 6 * 3, 11);

  it('is exact ReLU at inference', () => {
    const layer = new NgnvRelu({ r: 0.5, lambda: 0.3, variant: 'gaussian' });
    const z = tf.tensor(zData, shape);
    const out = layer.apply(z) as tf.Tensor;
    const predicted = Array.from(out.dataSync());
    expect(predicted).toEqual(Array.from(zData, (v) => Math.max(v, 0)));
    tf.dispose([z, out]);
  });

  it('in training adds lambda * sgn(eps) * z on the selected negatives only (eq. 24)', () => {
    const layer = new NgnvRelu({ r: 0.3, lambda: 0.25, variant: 'sign' });
    layer.reseed(123);
    const z = tf.tensor(zData, shape);
    const out = (layer.apply(z, { training: true }) as tf.Tensor).dataSync();
    const negatives = Array.from(zData).filter((v) => v < 0).length;
    let changed = 0;
    zData.forEach((v, i) => {
      const relu = Math.max(v, 0);
      const delta = out[i]! - relu;
      if (delta !== 0) {
        changed++;
        expect(v).toBeLessThan(0);
        expect(Math.abs(Math.abs(delta) - 0.25 * Math.abs(v))).toBeLessThan(1e-5 * Math.abs(v) + 1e-6);
      }
    });
    expect(changed).toBe(Math.round(0.3 * negatives));
    z.dispose();
  });

  it('draws the same noise for the same step seed and new noise for a new one', () => {
    const layer = new NgnvRelu({ r: 0.5, lambda: 0.1, variant: 'gaussian' });
    const z = tf.tensor(zData, shape);
    const run = (seed: number): number[] => {
      layer.reseed(seed);
      return Array.from((layer.apply(z, { training: true }) as tf.Tensor).dataSync());
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
    z.dispose();
  });

  it('passes gradients: step(z) plus the noise factor on perturbed entries', () => {
    const layer = new NgnvRelu({ r: 0.4, lambda: 0.2, variant: 'sign' });
    const z = tf.tensor(zData, shape);
    const w = tf.tensor(inputs(zData.length, 12), shape);
    layer.reseed(5);
    const out = (layer.apply(z, { training: true }) as tf.Tensor).dataSync();
    layer.reseed(5);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(layer.apply(a, { training: true }) as tf.Tensor, w)))(z).dataSync();
    const wd = w.dataSync();
    let flowedThroughNoise = 0;
    zData.forEach((v, i) => {
      const factor = v < 0 ? (out[i]! - 0) / v : 0;
      const expected = (v > 0 ? 1 : 0) * wd[i]! + (v < 0 ? factor * wd[i]! : 0);
      expect(Math.abs(g[i]! - expected)).toBeLessThan(1e-5);
      if (v < 0 && factor !== 0) flowedThroughNoise++;
    });
    expect(flowedThroughNoise).toBeGreaterThan(0);
    tf.dispose([z, w]);
  });

  it('is trained through by a model: training flag reaches it, weights before it get gradients', () => {
    const input = tfl.input({ shape: [6, 6, 3] });
    const conv = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tfl.initializers.heNormal({ seed: 3 }) });
    const ngnv = new NgnvRelu({ name: 'ngnv_probe', r: 1, lambda: 0.5, variant: 'sign' });
    const output = ngnv.apply(conv.apply(input)) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: output });
    const z = tf.tensor(zData, shape);
    ngnv.reseed(8);
    const train = (model.apply(z, { training: true }) as tf.Tensor).dataSync();
    const infer = (model.apply(z) as tf.Tensor).dataSync();
    expect(Array.from(train)).not.toEqual(Array.from(infer));
    expect(Array.from(infer).every((v) => v >= 0)).toBe(true);
    const kernel = conv.trainableWeights[0]!.read() as tf.Variable;
    // Only the perturbed negatives pass gradient when the ReLU part is masked out.
    const negativeMask = tf.cast(tf.less(conv.apply(z) as tf.Tensor, 0), 'float32');
    ngnv.reseed(8);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(z, { training: true }) as tf.Tensor, negativeMask)) as tf.Scalar, [kernel]);
    expect(tf.max(tf.abs(grads[kernel.name]!)).dataSync()[0]).toBeGreaterThan(0);
    z.dispose();
  });

  it('round-trips its parameters through the layer config', () => {
    const layer = new NgnvRelu({ name: 'cfg', r: 0.3, lambda: 0.05, variant: 'sign' });
    const cfg = layer.getConfig();
    expect(cfg).toMatchObject({ r: 0.3, lambda: 0.05, variant: 'sign' });
    expect(() => new NgnvRelu({ r: 1.5, lambda: 0.05 })).toThrow(/r must be in \[0, 1\]/);
    expect(() => new NgnvRelu({ r: 0.3, lambda: 0 })).toThrow(/lambda must be positive/);
  });
});
