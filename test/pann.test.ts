/**
 * PANN evaluation in plaintext: the approximation layers against the
 * library's references, the model transformer on small saved models, and
 * `mpcnet pann` end to end.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { appRelu } from '../src/approx/app-relu.js';
import { appMaxErrorBound, appMaxScale } from '../src/approx/app-max.js';
import { simulateTruncSign, truncSignParams, truncSignProbability } from '../src/approx/truncation-sign.js';
import { Rng } from '../src/common/random.js';
import { packageRoot } from '../src/mpc/launcher.js';
import { selectBackend } from '../src/plain/backend.js';
import { writeManifest, type BackboneManifest } from '../src/plain/manifest.js';
import { saveModel } from '../src/plain/model-io.js';
import {
  AppMaxPoolLayer, AppReluLayer, approximateModel, readRangeStats, resetRangeStats, TruncReluLayer, truncReluStreamKey,
} from '../src/plain/pann/index.js';
import { encode } from '../src/ring/fixed.js';
import { Prg } from '../src/ring/prg.js';
import { randomize } from './helpers/random-weights.js';

const cli = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

beforeAll(async () => {
  await selectBackend('cpu');
});

function uniform(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
}

function applyLayer(layer: tfl.layers.Layer, values: Float32Array, shape: number[]): Float32Array {
  const x = tf.tensor(values, shape);
  const y = layer.apply(x) as tf.Tensor;
  const out = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  return out;
}

describe('AppReluLayer', () => {
  // float32 rounding: the library measured float32 Clenshaw within 6e-7 of
  // float64 on [-1, 1] (src/approx/float32.ts); on [-B, B] that scales by B.
  // Allowed here: 4e-6 B, about 7x the measured difference.
  const F32 = 4e-6;
  it('equals the library\'s float64 B r_alpha, within B 2^-alpha of ReLU, and counts inputs outside [-B, B]', () => {
    const rng = new Rng(11);
    for (const [alpha, bound] of [[7, 4], [10, 12.5], [14, 3]] as const) {
      const xs = uniform(rng, 4000, -bound, bound);
      xs.set([0, bound, -bound, 2 ** -20, -(2 ** -20)]);
      const layer = new AppReluLayer({ alpha, bound, name: `app_${alpha}` });
      resetRangeStats();
      const got = applyLayer(layer, xs, [40, 100]);
      const ref = appRelu(alpha, { bound }).evaluateMany(xs);
      let maxRef = 0;
      let maxRelu = 0;
      for (let i = 0; i < xs.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(got[i]! - ref[i]!));
        maxRelu = Math.max(maxRelu, Math.abs(got[i]! - Math.max(xs[i]!, 0)));
      }
      expect(maxRef).toBeLessThanOrEqual(F32 * bound);
      expect(maxRelu).toBeLessThanOrEqual(bound * 2 ** -alpha + F32 * bound);
      expect(readRangeStats().get(`app_${alpha}`)).toMatchObject({ total: 4000, outside: 0 });
      // three values beyond the bound (|x| = B itself is inside)
      applyLayer(layer, Float32Array.from([bound * 1.5, -bound * 2, bound + 1, bound, 0]), [5]);
      expect(readRangeStats().get(`app_${alpha}`)).toMatchObject({ total: 4005, outside: 3 });
    }
  }, 120_000);

  it('AppMaxPoolLayer matches max pooling within B\' 2^-alpha (valid and same geometry)', () => {
    const rng = new Rng(5);
    for (const [padding, k, s] of [['valid', 2, 2], ['same', 3, 2]] as const) {
      const alpha = 12;
      const bound = 3;
      const xs = uniform(rng, 2 * 7 * 7 * 3, -bound, bound);
      const layer = new AppMaxPoolLayer({ alpha, bound, poolSize: k, strides: s, padding });
      const x = tf.tensor4d(xs, [2, 7, 7, 3]);
      const y = layer.apply(x) as tf.Tensor;
      const ref = tf.maxPool(x, k, s, padding);
      expect(y.shape).toEqual(ref.shape);
      const err = Math.max(...Array.from(tf.abs(tf.sub(y, ref)).dataSync()));
      expect(err).toBeLessThanOrEqual(appMaxScale(alpha, k * k, bound) * appMaxErrorBound(alpha, k * k) + 1e-4);
      tf.dispose([x, y, ref]);
    }
  }, 120_000);
});

describe('TruncReluLayer', () => {
  it('takes its sign decisions from simulateTruncSign on the encoded input and the layer\'s seeded stream', () => {
    const rng = new Rng(3);
    const lx = 12;
    const fracBits = 16;
    const xs = uniform(rng, 3000, -100, 100); // |x| >= 2^6 = 64 lies outside the test's range: the protocol's out-of-range answers
    const layer = new TruncReluLayer({ lx, skip: 2, fracBits, seed: 5, name: 'trunc_a' });
    const got = applyLayer(layer, xs, [30, 100]);
    const bits = simulateTruncSign(encode(xs, fracBits), truncSignParams({ lx, skip: 2, fracBits }), new Prg(truncReluStreamKey(5, 'trunc_a')));
    const expected = Float32Array.from(xs, (v, i) => (bits[i] ? v : 0));
    expect(Array.from(got)).toEqual(Array.from(expected));
    // deterministic given the seed (and the layer name); another seed draws other shares
    expect(Array.from(applyLayer(new TruncReluLayer({ lx, skip: 2, fracBits, seed: 5, name: 'trunc_a' }), xs, [3000]))).toEqual(Array.from(got));
    const other = applyLayer(new TruncReluLayer({ lx, skip: 2, fracBits, seed: 6, name: 'trunc_a' }), xs, [3000]);
    expect(Array.from(other)).not.toEqual(Array.from(got));
  }, 120_000);

  it('gives the rule\'s deterministic answers at 0, +-1 ulp and the range limits', () => {
    // lx 16 with f = lx / 2 = 8: no bits dropped (d = 0), s = 0, so g = 2^(s + d) = 1 ulp = 2^-8:
    // every x >= 0 gives 1 and every x <= -1 ulp gives 0, in range |x| < 2^(lx/2) = 256.
    const lx = 16;
    const fracBits = 8;
    const ulp = 2 ** -fracBits;
    const params = truncSignParams({ lx, fracBits });
    const edge = Float32Array.from([0, ulp, -ulp, 256 - ulp, -(256 - ulp), 1, -1]);
    const decision = [1, 1, 0, 1, 0, 1, 0];
    edge.forEach((v, i) => expect(truncSignProbability(Math.round(v * 2 ** fracBits), params)).toBe(decision[i]));
    const layer = new TruncReluLayer({ lx, fracBits, seed: 9, name: 'trunc_edge' });
    for (let rep = 0; rep < 30; rep++) {
      expect(Array.from(simulateTruncSign(encode(edge, fracBits), params, new Prg(truncReluStreamKey(rep, 'x'))))).toEqual(decision);
      // the layer's stream moves on each call: the answers do not
      expect(Array.from(applyLayer(layer, edge, [edge.length]))).toEqual(Array.from(edge, (v, i) => (decision[i] ? v : 0)));
    }
  }, 120_000);
});

/** Functional: conv (fused relu) -> ReLU -> max pool (same) -> conv -> Activation(relu) -> flatten -> dense (fused relu) -> dense. */
function functionalModel(): LayersModel {
  const input = tfl.input({ shape: [28, 28, 1], name: 'input' });
  let x = tfl.layers.conv2d({ name: 'c1', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as SymbolicTensor;
  x = tfl.layers.reLU({ name: 'r1' }).apply(x) as SymbolicTensor;
  x = tfl.layers.maxPooling2d({ name: 'mp', poolSize: 3, strides: 2, padding: 'same' }).apply(x) as SymbolicTensor;
  x = tfl.layers.conv2d({ name: 'c2', filters: 4, kernelSize: 3, strides: 2 }).apply(x) as SymbolicTensor;
  x = tfl.layers.activation({ name: 'a2', activation: 'relu' }).apply(x) as SymbolicTensor;
  x = tfl.layers.flatten({ name: 'flat' }).apply(x) as SymbolicTensor;
  x = tfl.layers.dense({ name: 'd1', units: 16, activation: 'relu' }).apply(x) as SymbolicTensor;
  const out = tfl.layers.dense({ name: 'logits', units: 10 }).apply(x) as SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'tiny' });
}

function sequentialModel(): LayersModel {
  const m = tfl.sequential({ name: 'tiny_seq' });
  m.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], name: 'c1', filters: 3, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ name: 'mp', poolSize: 2 }));
  m.add(tfl.layers.flatten({ name: 'flat' }));
  m.add(tfl.layers.dense({ name: 'd1', units: 12, activation: 'relu' }));
  m.add(tfl.layers.dense({ name: 'logits', units: 10 }));
  return m;
}

async function saveTiny(model: LayersModel, seed: number): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-pann-'));
  randomize(model, seed);
  await saveModel(model, dir);
  // the fields evaluatePann reads: dataset and normalization
  writeManifest(dir, {
    format: 'mpcnet-backbone', version: 1, createdAt: new Date(0).toISOString(),
    dataset: { spec: 'mnist', kind: 'mnist', height: 28, width: 28, channels: 1, numClasses: 10, trainCount: 0, testCount: 0, split: '' },
    normalization: { mean: [0.13], std: [0.31] },
    model: { name: model.name, parameters: model.countParams(), file: 'model.json', weights: 'weights.bin' },
  } as unknown as BackboneManifest);
  return dir;
}

function agreement(a: LayersModel, b: LayersModel, x: tf.Tensor): { same: number; maxDiff: number } {
  const pa = a.predict(x) as tf.Tensor;
  const pb = b.predict(x) as tf.Tensor;
  const same = tf.mean(tf.cast(tf.equal(tf.argMax(pa, -1), tf.argMax(pb, -1)), 'float32')).dataSync()[0]!;
  const maxDiff = tf.max(tf.abs(tf.sub(pa, pb))).dataSync()[0]!;
  tf.dispose([pa, pb]);
  return { same, maxDiff };
}

describe('approximateModel', () => {
  const count = (m: LayersModel, cls: string): number => m.layers.filter((l) => l.getClassName() === cls).length;
  const reluLeft = (m: LayersModel): number =>
    m.layers.filter((l) => ['ReLU', 'NgnvRelu'].includes(l.getClassName()) || (l.getConfig() as { activation?: string }).activation === 'relu').length;

  for (const [kind, build, relus, pools] of [['functional', functionalModel, 4, 1], ['sequential', sequentialModel, 2, 1]] as const) {
    it(`replaces every ReLU site of a ${kind} model and keeps its predictions (alpha 14, lx 22)`, async () => {
      const original = build();
      const dir = await saveTiny(original, 7);
      const rng = new Rng(1);
      const x = tf.tensor4d(Float32Array.from({ length: 64 * 784 }, () => rng.normal()), [64, 28, 28, 1]);
      const minimax = await approximateModel(dir, { kind: 'minimax', alpha: 14, bound: 40 });
      expect(count(minimax, 'AppReluLayer')).toBe(relus);
      expect(count(minimax, 'AppMaxPoolLayer')).toBe(pools);
      expect(count(minimax, 'MaxPooling2D')).toBe(0);
      expect(reluLeft(minimax)).toBe(0);
      const trunc = await approximateModel(dir, { kind: 'truncation', lx: 22 });
      expect(count(trunc, 'TruncReluLayer')).toBe(relus);
      expect(count(trunc, 'MaxPooling2D')).toBe(pools); // only minimax approximates max pooling
      expect(reluLeft(trunc)).toBe(0);
      const poly = await approximateModel(dir, { kind: 'poly', method: 'chebyshev', degree: 4, interval: [-8, 8] });
      expect(count(poly, 'PolyActivationLayer')).toBe(relus);
      // same weights, by name
      expect(minimax.getWeights().length).toBe(original.getWeights().length);
      for (const m of [minimax, trunc]) {
        const a = agreement(original, m, x);
        expect(a.same).toBeGreaterThanOrEqual(0.9);
      }
      // no rounding of the sign test at lx 22 with f 16 beyond 2^-11 near zero: outputs agree closely
      expect(agreement(original, trunc, x).maxDiff).toBeLessThan(1e-2);
      x.dispose();
    }, 120_000);
  }
});

describe('mpcnet pann', () => {
  it('runs end to end on a tiny model and rejects bad input with one line', async () => {
    const dir = await saveTiny(functionalModel(), 3);
    const out = mkdtempSync(path.join(tmpdir(), 'mpcnet-pann-out-'));
    const r = spawnSync(process.execPath, [cli, 'pann', '--model', dir, '--approx', 'minimax', '--alpha', '8..9', '--bound', 'auto', '--n', '40', '--backend', 'cpu', '--json', '--out', out], { encoding: 'utf8', timeout: 100_000 });
    expect(r.error).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { n: number; backboneAccuracy: number; calibration: { bound: number; images: number }; results: { setting: string; accuracy: number; sites: unknown[] }[] };
    expect(report.n).toBe(40);
    expect(report.calibration.images).toBe(256);
    expect(report.results.map((x) => x.setting)).toEqual([expect.stringMatching(/^minimax alpha=8 B=/), expect.stringMatching(/^minimax alpha=9 B=/)]);
    for (const x of report.results) {
      expect(x.accuracy).toBeGreaterThanOrEqual(0);
      expect(x.sites).toHaveLength(5); // 4 ReLU sites and the max pooling
    }
    expect(existsSync(path.join(out, 'pann.md'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(out, 'pann.json'), 'utf8')).results).toHaveLength(2);

    const bad = spawnSync(process.execPath, [cli, 'pann', '--model', dir, '--approx', 'truncation', '--lx', '7'], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--lx 7 is odd/)]);
  }, 120_000);
});
