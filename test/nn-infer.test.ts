/**
 * Secure inference of saved tfjs models (src/nn, src/jobs/infer.ts,
 * `mpcnet infer`): the plaintext context (--emulate) against tfjs predict
 * on the same images for the project's backbones and a plain tfjs
 * Sequential model; real 3-party runs against the plaintext simulation;
 * who learns what; bad model input; a party killed mid-inference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gatherNormalized, loadDataset } from '../src/data/index.js';
import { infer, inferImages, type InferJob, type InferOutput } from '../src/jobs/infer.js';
import { Context } from '../src/mpc/context.js';
import { packageRoot, RunError, runSession, startRun } from '../src/mpc/launcher.js';
import { selectBackend } from '../src/plain/backend.js';
import { saveModel } from '../src/plain/model-io.js';
import { buildModel } from '../src/plain/models/index.js';
import { randomize } from './helpers/random-weights.js';

const T = 240_000; // real processes and tfjs on a loaded 2-core machine
const root = mkdtempSync(path.join(tmpdir(), 'mpcnet-infer-'));
const mnist = loadDataset('mnist');
const NORM = { mean: [0], std: [1] };
const dirs: Record<string, string> = {};

function job(model: string, n: number, lx = 16, batch = n): InferJob {
  return { kind: 'infer', model, dataset: 'mnist', n, batch, nonlinearity: { kind: 'bicoptor', lx, skip: 0 }, normalization: NORM };
}

/** tfjs's outputs for the images the job uses. */
function tfjsPredict(model: LayersModel, n: number): Float32Array {
  const split = inferImages(mnist, n);
  const x = new Float32Array(n * 784);
  gatherNormalized(split, 784, Array.from({ length: n }, (_, i) => i), NORM, x);
  return tf.tidy(() => (model.predict(tf.tensor4d(x, [n, 28, 28, 1])) as tf.Tensor).dataSync() as Float32Array);
}

function argmax(v: ArrayLike<number>, row: number, cols: number): number {
  let best = 0;
  for (let k = 1; k < cols; k++) if (v[row * cols + k]! > v[row * cols + best]!) best = k;
  return best;
}

function softmaxRows(v: ArrayLike<number>, cols: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let r = 0; r < v.length / cols; r++) {
    let m = -Infinity;
    for (let k = 0; k < cols; k++) m = Math.max(m, v[r * cols + k]!);
    let s = 0;
    for (let k = 0; k < cols; k++) s += (out[r * cols + k] = Math.exp(v[r * cols + k]! - m));
    for (let k = 0; k < cols; k++) out[r * cols + k]! /= s;
  }
  return out;
}

const models: Record<string, LayersModel> = {};

beforeAll(async () => {
  await selectBackend('cpu');
  for (const name of ['cnn', 'resnet20', 'vgg'] as const) {
    const m = buildModel({ name, activation: { kind: 'relu' }, seed: 3, inputShape: [28, 28, 1], numClasses: 10 });
    randomize(m, 11);
    dirs[name] = path.join(root, name);
    await saveModel(m, dirs[name]);
    models[name] = m;
  }
  // The seed CNN with a learnable per-channel PPoly activation (degree 2) instead of ReLU.
  const ppoly = buildModel({ name: 'cnn', activation: { kind: 'ppoly', coefficients: [0.1, 0.5, 0.2], perChannel: true }, seed: 4, inputShape: [28, 28, 1], numClasses: 10 });
  randomize(ppoly, 13);
  dirs['ppoly'] = path.join(root, 'ppoly');
  await saveModel(ppoly, dirs['ppoly']);
  models['ppoly'] = ppoly;
  // Functional: a batch norm after a ReLU (not foldable: an affine layer), LeakyReLU, 'same' max pooling, GAP.
  const inp = tfl.input({ shape: [28, 28, 1] });
  let t = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'valid', activation: 'relu' }).apply(inp) as tfl.SymbolicTensor;
  t = tfl.layers.batchNormalization().apply(t) as tfl.SymbolicTensor;
  t = tfl.layers.leakyReLU({ alpha: 0.2 }).apply(t) as tfl.SymbolicTensor;
  t = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(t) as tfl.SymbolicTensor;
  t = tfl.layers.globalAveragePooling2d({}).apply(t) as tfl.SymbolicTensor;
  const fn = tfl.model({ inputs: inp, outputs: tfl.layers.dense({ units: 10 }).apply(t) as tfl.SymbolicTensor });
  randomize(fn, 14);
  dirs['functional'] = path.join(root, 'functional');
  await saveModel(fn, dirs['functional']);
  models['functional'] = fn;
  // A standard tfjs Sequential model, saved with tfjs's own save path.
  const seq = tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: true, activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 16, activation: 'relu' }),
    tfl.layers.dropout({ rate: 0.5 }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
  randomize(seq, 12);
  dirs['sequential'] = path.join(root, 'sequential');
  await saveModel(seq, dirs['sequential']);
  models['sequential'] = seq;
}, T);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('--emulate against tfjs predict', () => {
  // lx 22: sign errors only for |x| < 2^-11; fixed point f = 16: +-1 ulp per truncation.
  it.each(['cnn', 'resnet20', 'vgg', 'sequential', 'functional'])('%s: same class for every image, outputs close', async (name) => {
    const n = 32;
    const out = await infer(Context.plain(), job(dirs[name]!, n, 22));
    const expected = tfjsPredict(models[name]!, n);
    const got = name === 'sequential' ? softmaxRows(out.firstLogits!, 10) : Float64Array.from(out.firstLogits!);
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[i]!));
    const scale = Math.max(...Array.from(expected, Math.abs));
    expect(maxDiff / scale, `max |diff| ${maxDiff} vs output scale ${scale}`).toBeLessThan(2e-3);
    for (let r = 0; r < n; r++) expect(argmax(got, r, 10)).toBe(argmax(expected, r, 10));
  }, T);
});

describe('polynomial activations (--relu poly)', () => {
  it('PPoly model: plaintext context equals tfjs, and real 2-party processes equal the plaintext context', async () => {
    const n = 16;
    const pj: InferJob = { ...job(dirs['ppoly']!, n), nonlinearity: { kind: 'poly' } };
    const emulated = await infer(Context.plain(), pj);
    const expected = tfjsPredict(models['ppoly']!, n);
    const scale = Math.max(...Array.from(expected, Math.abs));
    // Fixed point f = 16: a few ulp per product through x^2, the coefficient products and the layers after.
    const vsFloat = Math.max(...emulated.firstLogits!.map((v, i) => Math.abs(v - expected[i]!)));
    expect(vsFloat / scale, `max |diff| ${vsFloat}`).toBeLessThan(2e-3);
    const run = await runSession({ mode: '2pc', job: pj });
    const p1 = run.parties.find((p) => p.id === 1)!.output as InferOutput;
    const vsPlain = Math.max(...p1.firstLogits!.map((v, i) => Math.abs(v - emulated.firstLogits![i]!)));
    expect(vsPlain / scale).toBeLessThan(1e-3);
    expect(p1.predictions).toEqual(emulated.predictions);
  }, T);

  it('a ReLU model under --relu poly is refused naming the layer', async () => {
    await expect(infer(Context.plain(), { ...job(dirs['cnn']!, 4), nonlinearity: { kind: 'poly' } })).rejects.toThrow(/layer block1_act: the model has a ReLU, but --relu poly/);
  });
});

describe('real 3-party inference', () => {
  it('predictions equal the plaintext simulation; only P1 learns them', async () => {
    const n = 200;
    // One batch, so the revealed logits of every image come back.
    const run = await runSession({ mode: '3pc', job: job(dirs['cnn']!, n, 16, n) });
    const [p0, p1, p2] = run.parties.map((p) => p.output as InferOutput);
    const emulated = await infer(Context.plain(), job(dirs['cnn']!, n, 16, n));
    // Both runs decide the signs of ReLU inputs in (-2^-8, 0) at random (their shares differ),
    // which moves the logits a little; a prediction may differ only where the two best logits
    // are closer than twice that movement.
    const real = p1!.firstLogits!;
    const sim = emulated.firstLogits!;
    const scale = Math.max(...sim.map(Math.abs));
    const moved = Math.max(...real.map((v, i) => Math.abs(v - sim[i]!)));
    expect(moved / scale, `logits moved by ${moved} (scale ${scale})`).toBeLessThan(0.02);
    let differ = 0;
    for (let r = 0; r < n; r++) {
      if (p1!.predictions![r] === emulated.predictions![r]) continue;
      differ++;
      const row = sim.slice(r * 10, r * 10 + 10).sort((a, b) => b - a);
      expect(row[0]! - row[1]!, `image ${r}: a prediction flipped with a margin larger than the movement`).toBeLessThanOrEqual(2 * moved);
    }
    console.log(`real vs simulation: ${differ} of ${n} predictions differ; logits moved by ${moved.toExponential(2)} of scale ${scale.toFixed(2)}`);
    expect(p1!.labels).toEqual(emulated.labels);
    for (const p of [p0!, p2!]) {
      expect(p.predictions).toBeUndefined();
      expect(p.labels).toBeUndefined();
      expect(p.firstLogits).toBeUndefined();
      expect(p.correct).toBeUndefined();
    }
  }, T);

  it('minimax ReLU in real 2-party processes equals the plaintext context (ring-exact up to the truncations)', async () => {
    const n = 32;
    const mm: InferJob = { ...job(dirs['cnn']!, n), nonlinearity: { kind: 'minimax', alpha: 10, bound: 8 } };
    const run = await runSession({ mode: '2pc', job: mm });
    const p1 = run.parties.find((p) => p.id === 1)!.output as InferOutput;
    const emulated = await infer(Context.plain(), mm);
    // The same fixed-point program; each truncation may differ by one ulp (2^-16) between runs,
    // over ~40 products in the ReLU and the layers after it: far below 1e-3 of the logits' scale.
    const scale = Math.max(...emulated.firstLogits!.map(Math.abs));
    const diff = Math.max(...p1.firstLogits!.map((v, i) => Math.abs(v - emulated.firstLogits![i]!)));
    expect(diff / scale).toBeLessThan(1e-3);
    expect(p1.predictions).toEqual(emulated.predictions);
  }, T);

  it('a party killed mid-inference ends the others within 10 s, naming it', async () => {
    let killedAt = 0;
    const handle = startRun({
      mode: '3pc',
      job: job(dirs['resnet20']!, 2000, 16, 4),
      onProgress: (id, e) => {
        if (id === 1 && e['batch'] === 2 && !killedAt) {
          killedAt = Date.now();
          handle.children[0]!.kill('SIGKILL');
        }
      },
    });
    const err = await handle.done.then(() => null, (e: unknown) => e);
    expect(killedAt).toBeGreaterThan(0);
    expect(err).toBeInstanceOf(RunError);
    for (const f of (err as RunError).failures) expect(f.message).toMatch(f.id === 0 ? /SIGKILL/ : /P0\b/);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
  }, T);
});

describe('bad model input', () => {
  function cli(args: string[]): { status: number | null; stderr: string } {
    const r = spawnSync(process.execPath, [path.join(packageRoot(), 'dist/src/cli/main.js'), 'infer', ...args], { encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stderr: r.stderr };
  }

  it('a 3-party ReLU asked with 2 parties', () => {
    const r = cli(['--model', dirs['cnn']!, '--parties', '2', '--n', '10']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mpcnet: --relu bicoptor is a 3-party protocol/);
  });

  it('a missing model directory', () => {
    const r = cli(['--model', path.join(root, 'nope'), '--n', '10']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mpcnet: --model .*nope: no such directory/);
  });
});

describe('bad model files', () => {
  function cli(args: string[]): { status: number | null; stderr: string } {
    const r = spawnSync(process.execPath, [path.join(packageRoot(), 'dist/src/cli/main.js'), 'infer', ...args], { encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stderr: r.stderr };
  }
  function copyModel(name: string): string {
    const dir = path.join(root, `${name}-${Math.random().toString(36).slice(2)}`);
    cpSync(dirs['sequential']!, dir, { recursive: true });
    return dir;
  }
  function editJson(dir: string, edit: (j: { modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } } }) => void): void {
    const file = path.join(dir, 'model.json');
    const j = JSON.parse(readFileSync(file, 'utf8'));
    edit(j);
    writeFileSync(file, JSON.stringify(j));
  }

  it('missing weights file', () => {
    const dir = copyModel('noweights');
    rmSync(path.join(dir, 'weights.bin'));
    const r = cli(['--model', dir, '--n', '10']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mpcnet: .*weights\.bin: weights file named by .*model\.json not found/);
  });

  it('truncated weights', () => {
    const dir = copyModel('truncated');
    const w = readFileSync(path.join(dir, 'weights.bin'));
    writeFileSync(path.join(dir, 'weights.bin'), w.subarray(0, w.length - 8));
    const r = cli(['--model', dir, '--n', '10']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mpcnet: .*weights\.bin.*truncated/);
  });

  it('unknown layer and a kernel of the wrong shape, reported together', () => {
    const dir = copyModel('badlayers');
    editJson(dir, (j) => {
      const layers = j.modelTopology.config.layers;
      layers[1]!.class_name = 'MysteryPool';
      layers[0]!.config['kernel_size'] = [5, 5];
    });
    const r = cli(['--model', dir, '--n', '10']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mpcnet: .*model\.json: unsupported layers: .*\(MysteryPool\)/);
    expect(r.stderr).toMatch(/kernel/);
    expect(r.stderr.split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(2); // one message, no stack trace
  });
});
