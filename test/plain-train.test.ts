/**
 * The trainer: resuming after epoch 1 reproduces the uninterrupted run bit for
 * bit (weights, batch-norm statistics, momentum, metrics), it learns, saves a
 * model that loads back with the same predictions, and leaks no tensors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { syntheticDataset } from '../src/data/index.js';
import { selectBackend, type BackendChoice } from '../src/plain/backend.js';
import { readCheckpoint } from '../src/plain/checkpoint.js';
import { evaluateAccuracy } from '../src/plain/evaluate.js';
import { readManifest, type TrainSettings } from '../src/plain/manifest.js';
import { loadModel } from '../src/plain/model-io.js';
import { train } from '../src/plain/train.js';

const data = syntheticDataset({ height: 8, width: 8, channels: 2, numClasses: 4, train: 48, test: 32, seed: 3 });

function settings(over: Partial<TrainSettings> = {}): TrainSettings {
  return {
    model: 'resnet8', activation: { kind: 'ngnv', r: 0.3, lambda: 0.1, variant: 'gaussian' }, epochs: 2, batchSize: 16,
    lr: 0.05, lrSteps: [1], lrGamma: 0.1, momentum: 0.9, weightDecay: 5e-4, mixup: true, mixupAlpha: 0.5, seed: 11, ...over,
  };
}

/** Whole training runs (in this process): sized for a busy 2-core machine, not the ~0.5 s they take on an idle one. */
const TRAIN_TIMEOUT = 120_000;

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'mpcnet-train-'));
const stripTimes = (h: { seconds: number; imagesPerSecond: number }[]): unknown[] => h.map(({ seconds: _s, imagesPerSecond: _r, ...rest }) => rest);

describe('train', () => {
  let backend: BackendChoice;
  beforeAll(async () => {
    backend = await selectBackend('wasm');
  });

  it('resumed after epoch 1 gives the same weights as the uninterrupted run', async () => {
    const whole = tmp();
    const split = tmp();
    const a = await train({ dataset: data, settings: settings(), backend, outDir: whole });
    const b1 = await train({ dataset: data, settings: settings(), backend, outDir: split, stopAfter: 1 });
    expect(b1.complete).toBe(false);
    expect(b1.epochsDone).toBe(1);
    expect(readCheckpoint(split)!.state.epochsDone).toBe(1);
    const b2 = await train({ dataset: data, settings: settings(), backend, outDir: split, resume: true });
    expect(a.complete && b2.complete).toBe(true);
    // Same weights file (all weights, BN moving statistics included) and same checkpoint (velocities too).
    expect(readFileSync(path.join(split, 'weights.bin')).equals(readFileSync(path.join(whole, 'weights.bin')))).toBe(true);
    const ca = readCheckpoint(whole)!;
    const cb = readCheckpoint(split)!;
    expect(cb.state.entries).toEqual(ca.state.entries);
    expect(Buffer.from(cb.data.buffer).equals(Buffer.from(ca.data.buffer))).toBe(true);
    expect(stripTimes(b2.manifest.metrics.epochs)).toEqual(stripTimes(a.manifest.metrics.epochs));
    // A different seed trains differently (the comparison above can fail).
    const c = await train({ dataset: data, settings: settings({ seed: 12, epochs: 1 }), backend });
    expect(c.model.getWeights()[0]!.dataSync()).not.toEqual(a.model.getWeights()[0]!.dataSync());
    tf.dispose([a.model, b1.model, b2.model, c.model].map((m) => m.weights.map((w) => w.read())).flat());
  }, TRAIN_TIMEOUT);

  it('refuses to resume with different settings or without a checkpoint', async () => {
    const dir = tmp();
    await train({ dataset: data, settings: settings({ epochs: 1, model: 'cnn' }), backend, outDir: dir });
    await expect(train({ dataset: data, settings: settings({ epochs: 2, model: 'cnn', lr: 0.01 }), backend, outDir: dir, resume: true })).rejects.toThrow(/cannot resume/);
    await expect(train({ dataset: data, settings: settings({ model: 'cnn' }), backend, outDir: tmp(), resume: true })).rejects.toThrow(/no checkpoint/);
    // More epochs than the checkpoint's run is fine.
    const more = await train({ dataset: data, settings: settings({ epochs: 2, model: 'cnn' }), backend, outDir: dir, resume: true });
    expect(more.manifest.metrics.epochs.length).toBe(2);
  }, TRAIN_TIMEOUT);

  it('learns, saves a model and manifest that load back with the same predictions, and leaks no tensors', async () => {
    const dir = tmp();
    const plain = settings({ model: 'cnn', activation: { kind: 'relu' }, mixup: false, weightDecay: 0, epochs: 3, lr: 0.05, lrSteps: [], batchSize: 8 });
    // A first run warms tfjs' caches (e.g. tfjs-layers' scalar constants); a second may keep only its model's weights.
    await train({ dataset: data, settings: { ...plain, epochs: 1 }, backend });
    const before = tf.memory().numTensors;
    const r = await train({ dataset: data, settings: plain, backend, outDir: dir });
    const kept = r.model.weights.length;
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + kept);
    const losses = r.manifest.metrics.epochs.map((e) => e.trainLoss);
    expect(losses[2]!).toBeLessThan(losses[0]!);
    expect(r.manifest.metrics.testAccuracy).toBeGreaterThan(0.9);
    const m = readManifest(dir);
    expect(m.dataset).toMatchObject({ kind: 'synthetic', height: 8, width: 8, channels: 2, numClasses: 4, trainCount: 48, testCount: 32 });
    expect(m.normalization.mean.length).toBe(2);
    expect(m.training).toMatchObject({ model: 'cnn', epochs: 3, batchSize: 8, momentum: 0.9, weightDecay: 0, mixup: false, seed: 11, backend: 'wasm' });
    expect(m.activation).toEqual({ kind: 'relu' });
    const loaded = await loadModel(dir);
    const acc = await evaluateAccuracy(loaded, data, data.test, m.normalization);
    expect(acc.accuracy).toBe(m.metrics.testAccuracy);
    expect(acc.n).toBe(32);
  }, TRAIN_TIMEOUT);
});
