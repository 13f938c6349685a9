/**
 * `mpcnet experiment lx` (accuracy under real 3-party MPC vs the plaintext
 * simulation, bytes per image, per model and l_x) on a tiny random-weight
 * CNN, its input checks, and `mpcnet demo --quick` end to end (train, reuse,
 * secure inference, the l_x sweep). Every process gets an explicit timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lxExperimentPlan, modelLabels } from '../src/cli/experiment-lx.js';
import { packageRoot } from '../src/mpc/launcher.js';
import { selectBackend } from '../src/plain/backend.js';
import { saveModel } from '../src/plain/model-io.js';
import { buildModel } from '../src/plain/models/index.js';
import { unfinishedReason, type DemoReport } from '../src/cli/demo.js';
import { loadDataset } from '../src/data/index.js';
import type { LxExperimentReport } from '../src/report/lx-experiment.js';
import { randomize } from './helpers/random-weights.js';

const T = 240_000; // real party processes and tfjs on a loaded 2-core machine
const root = mkdtempSync(path.join(tmpdir(), 'mpcnet-experiment-'));
const cnn = path.join(root, 'cnn');

function cli(args: string[], timeout = 200_000): { status: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null } {
  const r = spawnSync(process.execPath, [path.join(packageRoot(), 'dist/src/cli/main.js'), ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

beforeAll(async () => {
  await selectBackend('cpu');
  const m = buildModel({ name: 'cnn', activation: { kind: 'relu' }, seed: 5, inputShape: [28, 28, 1], numClasses: 10 });
  randomize(m, 21);
  await saveModel(m, cnn);
}, T);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('mpcnet experiment lx', () => {
  it('--lx 8..10 --n 20: a table with MPC and simulation columns, three files, more bytes at lx 10 than at 8', () => {
    const out = path.join(root, 'lx-out');
    const r = cli(['experiment', 'lx', '--models', cnn, '--lx', '8..10', '--n', '20', '--batch', '10', '--out', out]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cnn MPC %/);
    expect(r.stdout).toMatch(/cnn sim %/);
    expect(r.stdout).toMatch(/cnn MB\/image/);
    expect(r.stdout).toMatch(/^\|\s+8 \|/m);
    expect(r.stdout).toMatch(/^\|\s+10 \|/m);
    // Progress per (model, lx) on stderr.
    expect(r.stderr).toMatch(/experiment lx: cnn lx 8 \(1\/2\): MPC/);
    expect(r.stderr).toMatch(/experiment lx: cnn lx 10 \(2\/2\): MPC/);
    for (const f of ['lx-experiment.md', 'lx-experiment.json', 'lx-experiment.svg']) expect(existsSync(path.join(out, f)), f).toBe(true);
    const report = JSON.parse(readFileSync(path.join(out, 'lx-experiment.json'), 'utf8')) as LxExperimentReport;
    expect(report.command).toMatch(/experiment lx/);
    expect(Date.parse(report.date)).not.toBeNaN();
    expect(report.lxs).toEqual([8, 10]);
    expect(report.models).toHaveLength(1);
    const [p8, p10] = report.models[0]!.points;
    expect(p8!.lx).toBe(8);
    expect(p10!.lx).toBe(10);
    for (const p of [p8!, p10!]) {
      for (const acc of [p.mpc.accuracy, p.simulation.accuracy]) {
        expect(acc).toBeGreaterThanOrEqual(0);
        expect(acc).toBeLessThanOrEqual(1);
      }
      expect(p.mpc.correct).toBe(Math.round(p.mpc.accuracy * 20));
      expect(p.mpc.bytesPerImageByParty).toHaveLength(3);
      expect(p.mpc.bytesPerImage).toBeCloseTo(p.mpc.bytesPerImageByParty.reduce((a, b) => a + b, 0), 3);
    }
    expect(p10!.mpc.bytesPerImage).toBeGreaterThan(p8!.mpc.bytesPerImage);
    // Per party too: every party moves more with the longer sign test.
    for (let i = 0; i < 3; i++) expect(p10!.mpc.bytesPerImageByParty[i]!).toBeGreaterThan(p8!.mpc.bytesPerImageByParty[i]!);
    expect(report.models[0]!.float?.accuracy).toBeGreaterThanOrEqual(0);
    const md = readFileSync(path.join(out, 'lx-experiment.md'), 'utf8');
    expect(md).toMatch(/cnn MPC %.*cnn sim %/);
    const svg = readFileSync(path.join(out, 'lx-experiment.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toMatch(/cnn MPC/);
    expect(svg).toMatch(/cnn simulation/);
    expect(svg).toMatch(/MB per image/);
  }, T);

  describe('bad input: one clear error each, before any process starts', () => {
    const empty = path.join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    const base = { models: cnn, lx: '8..10', skip: 0, n: 20, batch: 64, fracBits: 16 };
    it.each([
      ['an odd l_x', { lx: '7' }, /--lx 7: .*even/],
      ['l_x too large', { lx: '6..40' }, /--lx 24: lx - s must be at most 23/],
      ['l_x not a number', { lx: 'abc' }, /--lx: 'abc' is not an integer/],
      ['n = 0', { n: 0 }, /--n must be a positive integer/],
      ['n not an integer', { n: 2.5 }, /--n must be a positive integer/],
      ['n above the test split', { n: 100_000 }, /--n must be an integer in \[1, \d+\]/],
      ['batch 0', { batch: 0 }, /--batch must be a positive integer/],
      ['negative skip', { skip: -1 }, /--skip must be a non-negative integer/],
      ['no model directory', { models: path.join(root, 'nope') }, /--models: .*nope: no such directory/],
      ['a directory without a model', { models: empty }, /--models .*empty: .*model\.json/],
      ['an empty model list', { models: ' , ' }, /--models: give one or more model directories/],
    ])('%s', (_what, change, message) => {
      expect(() => lxExperimentPlan({ ...base, ...change })).toThrow(message);
    });

    it('the CLI exits 1 with the message, fast', () => {
      const t0 = Date.now();
      const r = cli(['experiment', 'lx', '--models', `${cnn},${path.join(root, 'nope')}`, '--lx', '8', '--n', '5'], 60_000);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^mpcnet: --models: .*nope: no such directory/m);
      expect(r.stderr).not.toMatch(/infer: batch/);
      expect(Date.now() - t0).toBeLessThan(30_000);
      const odd = cli(['experiment', 'lx', '--models', cnn, '--lx', '8,9', '--n', '5'], 60_000);
      expect(odd.status).toBe(1);
      expect(odd.stderr).toMatch(/--lx 9: /);
    }, T);
  });

  it('labels: directory names, made unique with their parents', () => {
    expect(modelLabels(['/a/x/cnn', '/b/y/resnet'])).toEqual(['cnn', 'resnet']);
    expect(modelLabels(['/a/seed-1/cnn', '/a/seed-2/cnn'])).toEqual(['seed-1/cnn', 'seed-2/cnn']);
  });
});

describe('mpcnet demo --quick', () => {
  it('trains, classifies under 3-party MPC, sweeps l_x 8 / 12 / 16; a second run reuses the model', () => {
    const out = path.join(root, 'demo');
    const r = cli(['demo', '--quick', '--out', out, '--json'], 200_000);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/demo \[1\/4\]: training/);
    expect(r.stderr).toMatch(/demo \[4\/4\]: l_x 16/);
    const report = JSON.parse(r.stdout) as DemoReport;
    expect(report.modelSource).toBe('trained');
    expect(report.training.epochs).toBe(1);
    expect(report.n).toBe(20);
    for (const acc of [report.plaintext.accuracy, report.secure.accuracy]) {
      expect(acc).toBeGreaterThanOrEqual(0);
      expect(acc).toBeLessThanOrEqual(1);
    }
    expect(report.secure.lx).toBe(16);
    expect(report.secure.bytesPerImageByParty).toHaveLength(3);
    expect(report.sweep.map((p) => p.lx)).toEqual([8, 12, 16]);
    const bytes = report.sweep.map((p) => p.bytesPerImage);
    expect(bytes[0]!).toBeLessThan(bytes[1]!);
    expect(bytes[1]!).toBeLessThan(bytes[2]!);
    for (const f of ['cnn-mnist/model.json', 'cnn-mnist/weights.bin', 'cnn-mnist/manifest.json', 'demo.json', 'demo.md']) expect(existsSync(path.join(out, f)), f).toBe(true);
    expect(readFileSync(path.join(out, 'demo.md'), 'utf8')).toMatch(/secure \(3 parties, truncation ReLU l_x 16\)/);

    const again = cli(['demo', '--quick', '--out', out, '--n', '8', '--sweep-n', '8'], 200_000);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/reusing the finished model/);
    expect(again.stdout).toMatch(/reused \(1 epochs?\)/);
    expect(again.stdout).toMatch(/plaintext \(tfjs float32\) on 8 test images/);
    expect(again.stdout).toMatch(/bytes per image against accuracy \(8 images\)/);

    // What counts as the finished demo model: the same epochs and training set, cnn on mnist.
    const full = loadDataset('mnist').train.count;
    expect(unfinishedReason(path.join(out, 'cnn-mnist'), { epochs: 1, limitTrain: 500 }, full)).toBeUndefined();
    expect(unfinishedReason(path.join(out, 'cnn-mnist'), { epochs: 5 }, full)).toMatch(/has 1 of 1 epochs, the demo trains 5/);
    expect(unfinishedReason(path.join(out, 'cnn-mnist'), { epochs: 1 }, full)).toMatch(/trained on 500 images, the demo uses \d+/);
    expect(unfinishedReason(path.join(root, 'empty'), { epochs: 5 }, full)).toMatch(/no manifest\.json/);
  }, T);
});
