/**
 * Saved backbones are standard tfjs layers models: a node process that
 * imports only @tensorflow/tfjs-layers (none of this project's layer
 * classes registered) loads a model trained with NGNV (saved with ReLU
 * layers) and models with the project's BatchNorm, and predicts what the
 * project's own loader predicts. The layers that still need the project's
 * classes are exactly PolynomialActivation, PPoly and ResNets' PadShortcut.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticDataset } from '../src/data/index.js';
import { selectBackend, type BackendChoice } from '../src/plain/backend.js';
import { parseActivation, type ActivationSpec } from '../src/plain/activations/index.js';
import { loadModel, saveModel } from '../src/plain/model-io.js';
import { buildModel } from '../src/plain/models/index.js';
import { train } from '../src/plain/train.js';
import { Rng } from '../src/common/random.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHAPE = [2, 8, 8, 2];

/**
 * Loads each directory with plain tfjs in a fresh process (cpu backend)
 * and predicts the given input. tfjs prints a banner on stdout, so the
 * result is the line after a marker.
 */
const CHILD = `
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { readFileSync } from 'node:fs';
import path from 'node:path';
await tf.setBackend('cpu');
const { dirs, input, shape } = JSON.parse(process.argv[1]);
const results = {};
for (const dir of dirs) {
  try {
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const bytes = readFileSync(path.join(dir, 'weights.bin'));
    const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
    const y = model.predict(tf.tensor(input, shape));
    results[dir] = { ok: true, classes: model.layers.map((l) => l.getClassName()), output: Array.from(y.dataSync()) };
  } catch (err) {
    results[dir] = { ok: false, error: err.message };
  }
}
process.stdout.write('\\nRESULT ' + JSON.stringify(results) + '\\n');
`;

interface ChildResult {
  ok: boolean;
  classes?: string[];
  output?: number[];
  error?: string;
}

function plainTfjsLoad(dirs: string[], input: number[]): Record<string, ChildResult> {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify({ dirs, input, shape: SHAPE })], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20,
  });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`no result from the plain tfjs process: ${out}`);
  return JSON.parse(line.slice('RESULT '.length)) as Record<string, ChildResult>;
}

async function predict(dir: string, input: number[]): Promise<number[]> {
  const m = await loadModel(dir);
  const x = tf.tensor(input, SHAPE);
  const y = m.predict(x) as tf.Tensor;
  const out = Array.from(await y.data());
  tf.dispose([x, y]);
  return out;
}

describe('saved models load in plain tfjs', () => {
  let backend: BackendChoice;
  const root = mkdtempSync(path.join(tmpdir(), 'mpcnet-portable-'));
  const rng = new Rng(1);
  const input = Array.from({ length: SHAPE.reduce((a, b) => a * b, 1) }, () => rng.normal());
  beforeAll(async () => {
    backend = await selectBackend('wasm');
  });

  it('an NGNV-trained backbone is saved with ReLU layers and predicts the same in plain tfjs; only PPoly, PolynomialActivation and PadShortcut need project classes', async () => {
    // One batch of NGNV training, saved by the trainer.
    const data = syntheticDataset({ height: 8, width: 8, channels: 2, numClasses: 3, train: 8, test: 4, seed: 2 });
    const trained = path.join(root, 'ngnv-trained');
    await train({
      dataset: data, backend, outDir: trained,
      settings: {
        model: 'cnn', activation: { kind: 'ngnv', r: 0.5, lambda: 0.2, variant: 'gaussian' }, epochs: 1, batchSize: 8, lr: 0.05,
        lrSteps: [], lrGamma: 0.1, momentum: 0.9, weightDecay: 0, mixup: false, mixupAlpha: 0.5, seed: 3,
      },
    });
    const json = readFileSync(path.join(trained, 'model.json'), 'utf8');
    expect(json).not.toContain('NgnvRelu');
    const topo = JSON.parse(json) as { modelTopology: { config: { layers: { name: string; class_name: string; config: Record<string, unknown>; inbound_nodes: unknown }[] } } };
    const act = topo.modelTopology.config.layers.find((l) => l.name === 'block1_act')!;
    expect(act).toMatchObject({ class_name: 'ReLU', config: { name: 'block1_act', max_value: null }, inbound_nodes: [[['block1_bn', 0, 0, {}]]] });
    expect(act.config).not.toHaveProperty('r');
    // The checkpoint for --resume holds no topology; the manifest keeps the NGNV settings.
    expect(existsSync(path.join(trained, 'checkpoint', 'state.json'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(trained, 'manifest.json'), 'utf8')).activation).toMatchObject({ kind: 'ngnv', r: 0.5 });

    // Untrained models of every activation and architecture, saved with saveModel.
    const cases: [string, string, ActivationSpec][] = [
      ['cnn-relu', 'cnn', parseActivation('relu')],
      ['cnn-leaky', 'cnn', parseActivation('leaky:0.1')],
      ['cnn-poly', 'cnn', parseActivation('poly:0.1,0.5,0.2')],
      ['cnn-ppoly', 'cnn', parseActivation('ppoly:0.1,0.5,0.2:channel')],
      ['vgg-ngnv', 'vgg', { kind: 'ngnv', r: 0.3, lambda: 0.1, variant: 'sign' }],
      ['resnet8-relu', 'resnet8', parseActivation('relu')],
    ];
    for (const [dir, name, activation] of cases) {
      await saveModel(buildModel({ name, inputShape: [8, 8, 2], numClasses: 3, activation, seed: 4 }), path.join(root, dir));
    }
    const dirs = [trained, ...cases.map(([d]) => path.join(root, d))];
    const results = plainTfjsLoad(dirs, input);

    const needProjectClasses: string[] = [];
    for (const dir of dirs) {
      const r = results[dir]!;
      if (!r.ok) {
        const m = /Unknown layer: (\w+)/.exec(r.error ?? '');
        expect(m, `${dir}: ${r.error}`).not.toBeNull();
        needProjectClasses.push(m![1]!);
        continue;
      }
      // Same predictions as the project's loader (cpu in the child, wasm here).
      const ours = await predict(dir, input);
      expect(r.output!.length).toBe(ours.length);
      r.output!.forEach((v, i) => expect(Math.abs(v - ours[i]!), `${dir} output ${i}`).toBeLessThan(1e-4));
      expect(r.classes).not.toContain('NgnvRelu');
    }
    expect(needProjectClasses.sort()).toEqual(['PPoly', 'PadShortcut', 'PolynomialActivation']);
    expect(results[trained]!.classes).toContain('BatchNormalization');
  }, 120_000);

  it('loadModel reads through readModelFiles: missing, truncated and too long weights are named', async () => {
    const dir = path.join(root, 'errors');
    await saveModel(buildModel({ name: 'cnn', inputShape: [8, 8, 2], numClasses: 3, activation: { kind: 'relu' }, seed: 5 }), dir);
    const wf = path.join(dir, 'weights.bin');
    const mf = path.join(dir, 'model.json');
    const bytes = readFileSync(wf);
    writeFileSync(wf, bytes.subarray(0, 100));
    await expect(loadModel(dir)).rejects.toThrow(`${wf}: 100 bytes, the manifest in ${mf} needs ${bytes.length} (truncated)`);
    writeFileSync(wf, Buffer.concat([bytes, Buffer.alloc(8)]));
    await expect(loadModel(dir)).rejects.toThrow(/\(too long\)/);
    writeFileSync(mf, 'not json');
    await expect(loadModel(dir)).rejects.toThrow(`${mf}: not valid JSON`);
    await expect(loadModel(path.join(root, 'none'))).rejects.toThrow(/model\.json: model file not found/);
  });
});
