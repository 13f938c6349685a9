/** Model builders, pluggable activations, and saving/loading models with the custom layers. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseActivation, parseNgnv, type ActivationSpec } from '../src/plain/activations/index.js';
import { selectBackend } from '../src/plain/backend.js';
import { loadModel, saveModel } from '../src/plain/model-io.js';
import { buildModel, checkModelName, parameterCount } from '../src/plain/models/index.js';
import { BatchNorm } from '../src/plain/models/batch-norm.js';
import * as tfl from '@tensorflow/tfjs-layers';

const relu: ActivationSpec = { kind: 'relu' };

function gradNorms(name: string, shape: [number, number, number], activation: ActivationSpec): number[] {
  const model = buildModel({ name, inputShape: shape, numClasses: 10, activation, seed: 1 });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const x = tf.randomNormal([3, ...shape], 0, 1, 'float32', 5);
  const y = tf.oneHot(tf.tensor1d([1, 2, 3], 'int32'), 10);
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
  const norms = vars.map((v) => tf.norm(grads[v.name]!).dataSync()[0]!);
  tf.dispose([x, y, value, ...Object.values(grads)]);
  return norms;
}

describe('models', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('seed CNN: conv 32 3x3 -> BN -> act -> avgpool 2 -> dense', () => {
    const m = buildModel({ name: 'cnn', inputShape: [28, 28, 1], numClasses: 10, activation: relu, seed: 1 });
    expect(m.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Conv2D', 'BatchNormalization', 'ReLU', 'AveragePooling2D', 'Flatten', 'Dense']);
    expect(m.outputs[0]!.shape).toEqual([null, 10]);
    // 3*3*32 conv + 2*32 BN + 14*14*32*10 + 10 dense
    expect(parameterCount(m)).toBe(288 + 64 + 62720 + 10);
  });

  it('ResNet-20/32/44/56 have the CIFAR parameter counts (0.27M, 0.46M, 0.66M, 0.85M) and take any input size', () => {
    const counts = [20, 32, 44, 56].map((d) => parameterCount(buildModel({ name: `resnet${d}`, inputShape: [32, 32, 3], numClasses: 10, activation: relu, seed: 1 })));
    expect(counts.map((c) => Math.round(c / 1e4) / 100)).toEqual([0.27, 0.46, 0.66, 0.85]);
    const m = buildModel({ name: 'resnet20', inputShape: [28, 28, 1], numClasses: 7, activation: relu, seed: 1 });
    expect(m.outputs[0]!.shape).toEqual([null, 7]);
    expect(m.layers.filter((l) => l.getClassName() === 'Conv2D').length).toBe(19);
    expect(m.layers.filter((l) => l.getClassName() === 'PadShortcut').length).toBe(2);
  });

  it('every weight of ResNet-8 and the small VGG gets a gradient (odd input sizes too)', () => {
    for (const [name, shape] of [['resnet8', [9, 9, 3]], ['vgg', [12, 10, 2]]] as const) {
      const norms = gradNorms(name, [...shape], relu);
      expect(norms.length).toBeGreaterThan(10);
      for (const n of norms) expect(n).toBeGreaterThan(0);
    }
  });

  it('BatchNorm (fused training gradient) matches tfjs-layers BatchNormalization: output, gradients, moving statistics', () => {
    for (const shape of [[4, 5, 6, 3], [7, 5]]) {
      const ours = new BatchNorm({ momentum: 0.9, epsilon: 1e-5 });
      const theirs = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
      expect(ours.getClassName()).toBe('BatchNormalization');
      const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 3), 2), 0.5);
      const r = tf.randomNormal(shape, 0, 1, 'float32', 4);
      const results = [ours, theirs].map((layer) => {
        layer.build(x.shape);
        layer.setWeights([tf.tensor1d([1.5, -0.5, 2, 0.7, 1.1].slice(0, shape[shape.length - 1])), tf.tensor1d([0.1, 0.2, -0.3, 0, 0.4].slice(0, shape[shape.length - 1])),
          ...layer.getWeights().slice(2)]);
        const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
        const xv = tf.variable(x);
        const y = Array.from((layer.apply(x, { training: true }) as tf.Tensor).dataSync());
        const { grads: gm } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xv, { training: true }) as tf.Tensor, r)) as tf.Scalar, [xv, gamma!, beta!]);
        const grads = [xv, gamma!, beta!].map((v) => Array.from(gm[v.name]!.dataSync()));
        xv.dispose();
        const moving = layer.getWeights().slice(2).map((t) => Array.from(t.dataSync()));
        return { y, grads, moving };
      });
      const [a, b] = results as [typeof results[0], typeof results[0]];
      const close = (p: number[], q: number[]): void => p.forEach((v, i) => expect(Math.abs(v - q[i]!)).toBeLessThan(2e-5 * (1 + Math.abs(q[i]!))));
      close(a.y, b.y);
      a.grads.forEach((g, i) => close(g, b.grads[i]!));
      a.moving.forEach((m, i) => close(m, b.moving[i]!));
      expect(Math.max(...b.grads[0]!.map(Math.abs))).toBeGreaterThan(0.01);
    }
  });

  it('rejects unknown models and bad depths', () => {
    expect(() => checkModelName('resnet21')).toThrow(/unknown model/);
    expect(() => checkModelName('lenet')).toThrow(/unknown model/);
    expect(() => checkModelName('resnet110')).not.toThrow();
  });
});

describe('activations', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  const probe = (a: ActivationSpec, xs: number[]): number[] => {
    const m = buildModel({ name: 'cnn', inputShape: [4, 4, 1], numClasses: 2, activation: a, seed: 1 });
    const layer = m.getLayer('block1_act');
    return Array.from((layer.apply(tf.tensor1d(xs)) as tf.Tensor).dataSync());
  };

  it('evaluate ReLU, leaky ReLU and polynomials (power basis, c0 first)', () => {
    const xs = [-2, -0.5, 0, 1.5];
    expect(probe(parseActivation('relu'), xs)).toEqual([0, 0, 0, 1.5]);
    expect(probe(parseActivation('leaky:0.1'), xs).map((v) => +v.toFixed(6))).toEqual([-0.2, -0.05, 0, 1.5]);
    const poly = probe(parseActivation('poly:0.1,0.5,0.25'), xs);
    xs.forEach((x, i) => expect(poly[i]).toBeCloseTo(0.1 + 0.5 * x + 0.25 * x * x, 5));
    const pp = probe(parseActivation('ppoly:0,1,0,-0.1'), xs);
    xs.forEach((x, i) => expect(pp[i]).toBeCloseTo(x - 0.1 * x ** 3, 5));
  });

  it('PPoly coefficients are trainable weights (shared or per channel) and get gradients', () => {
    for (const spec of ['ppoly:0.1,0.5,0.2', 'ppoly:0.1,0.5,0.2:channel']) {
      const a = parseActivation(spec);
      const m = buildModel({ name: 'cnn', inputShape: [6, 6, 1], numClasses: 3, activation: a, seed: 2 });
      const coeffs = m.getLayer('block1_act').trainableWeights;
      expect(coeffs.length).toBe(1);
      expect(coeffs[0]!.shape).toEqual(spec.endsWith('channel') ? [3, 32] : [3]);
      const norms = gradNorms('cnn', [6, 6, 1], a);
      expect(norms.every((n) => n > 0)).toBe(true);
    }
  });

  it('parse the CLI forms and reject bad ones', () => {
    expect(parseNgnv('0.3,0.05')).toEqual({ kind: 'ngnv', r: 0.3, lambda: 0.05, variant: 'gaussian' });
    expect(parseNgnv('0.5,0.1,sign')).toEqual({ kind: 'ngnv', r: 0.5, lambda: 0.1, variant: 'sign' });
    expect(() => parseNgnv('0.3')).toThrow(/r,lambda/);
    expect(() => parseNgnv('2,0.1')).toThrow(/r must be/);
    expect(() => parseActivation('poly:a,b')).toThrow(/list of numbers/);
    expect(() => parseActivation('tanh')).toThrow(/unknown activation/);
  });

  it('a bare ppoly is the seed\'s best start: the least-squares cubic of Leaky ReLU (0.01) on N(0, 1.2^2)', () => {
    const a = parseActivation('ppoly');
    expect(a.kind === 'ppoly' && !a.perChannel).toBe(true);
    const c = (a as { coefficients: number[] }).coefficients;
    expect(c.length).toBe(4);
    // Measured: 0.2314, 0.4953, 0.1685, 0.0026 (about 0.5 x + a parabola lifting the negative side).
    expect(c.map((v) => +v.toFixed(3))).toEqual([0.231, 0.495, 0.168, 0.003]);
    expect(parseActivation('ppoly:channel')).toEqual({ ...a, perChannel: true });
    const d5 = parseActivation('ppoly:d5:channel');
    expect(d5.kind === 'ppoly' && d5.perChannel && d5.coefficients.length === 6).toBe(true);
    expect(() => parseActivation('ppoly:d0')).toThrow(/degree/);
    expect(() => parseActivation('ppoly:channel:x')).toThrow(/unknown option/);
  });

  it('models with NGNV, PPoly and option-A shortcuts save and load with identical predictions', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-model-'));
    for (const [name, a] of [['resnet8', parseNgnv('0.3,0.05,sign')], ['cnn', parseActivation('ppoly:0,0.5,0.1:channel')]] as const) {
      const m = buildModel({ name, inputShape: [8, 8, 2], numClasses: 4, activation: a, seed: 3 });
      const out = path.join(dir, name);
      await saveModel(m, out);
      const back = await loadModel(out);
      const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 9);
      expect(Array.from((back.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((m.predict(x) as tf.Tensor).dataSync()));
      // NGNV acts only in training: saved models hold it as tfjs' standard ReLU.
      expect(back.layers.map((l) => l.getClassName())).toEqual(m.layers.map((l) => (l.getClassName() === 'NgnvRelu' ? 'ReLU' : l.getClassName())));
    }
    await expect(loadModel(path.join(dir, 'missing'))).rejects.toThrow(/model.json: model file not found/);
  });
});
