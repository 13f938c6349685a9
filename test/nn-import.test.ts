/**
 * The tfjs -> ModelSpec importer (src/nn/import-tfjs.ts) and the plain file
 * reader under it (src/nn/model-files.ts): models built and saved with tfjs
 * (a plain Sequential model, the seed CNN, ResNet-20, the VGG and a
 * functional model with the less common layers) import with tfjs's output
 * shapes, and a float64 reference run of each spec (test/helpers/spec-eval.ts)
 * reproduces tfjs's output of every layer (batch norms folded, Flatten in
 * tfjs's order, TensorFlow's 'same' padding); parties without weights get
 * the same structure with null values; each kind of bad model is refused
 * with a message naming the file and the layer, all problems at once.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { selectBackend } from '../src/plain/backend.js';
import { saveModel } from '../src/plain/model-io.js';
import { buildModel } from '../src/plain/models/index.js';
import { PolynomialActivation, PPoly } from '../src/plain/activations/index.js';
import { importModel, SUPPORTED_LAYERS } from '../src/nn/import-tfjs.js';
import { readModelFiles } from '../src/nn/model-files.js';
import type { LayerSpec, ModelSpec } from '../src/nn/spec.js';
import { Rng } from '../src/common/random.js';
import { evaluateSpec, hwcToChw } from './helpers/spec-eval.js';
import { randomize } from './helpers/random-weights.js';

const root = mkdtempSync(path.join(tmpdir(), 'mpcnet-import-'));
let counter = 0;
const freshDir = (name: string): string => path.join(root, `${name}-${counter++}`);


async function saved(model: LayersModel, name: string, seed: number): Promise<string> {
  randomize(model, seed);
  const dir = freshDir(name);
  await saveModel(model, dir);
  return dir;
}

/** tfjs's output shape (NHWC, batch first) in the spec's layout. */
function specShape(tfjsShape: (number | null)[]): number[] {
  const s = tfjsShape.slice(1) as number[];
  return s.length === 3 ? [s[2]!, s[0]!, s[1]!] : s;
}

/** The spec layer that computes each tfjs layer's output: itself, or for a folded batch norm the layer it was folded into. */
function specLayers(model: LayersModel, spec: ModelSpec): Map<string, LayerSpec> {
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  const out = new Map<string, LayerSpec>();
  for (const l of model.layers) {
    if (l.getClassName() === 'InputLayer') continue;
    let s = byName.get(l.name);
    if (s === undefined) {
      expect(l.getClassName(), `${l.name} is missing from the spec`).toBe('BatchNormalization');
      s = out.get(l.inboundNodes[0]!.inboundLayers[0]!.name);
      expect(s?.kind, `${l.name} folded into a linear layer`).toMatch(/^(conv2d|dense)$/);
    }
    out.set(l.name, s!);
  }
  return out;
}

/**
 * Every tfjs layer's output shape and values (one random input) against
 * the spec: shapes exactly, values within 1e-4 relative to the magnitude.
 */
function compareWithTfjs(model: LayersModel, spec: ModelSpec, seed: number): void {
  const [h, w, c] = (model.inputs[0]!.shape.slice(1)) as number[];
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: h! * w! * c! }, () => rng.normal());
  const map = specLayers(model, spec);
  const probed = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const probe = tfl.model({ inputs: model.inputs, outputs: probed.map((l) => l.output as SymbolicTensor) });
  const xt = tf.tensor4d(x, [1, h!, w!, c!]);
  const outs = probe.predict(xt) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(outs) ? outs : [outs];
  const ref = evaluateSpec(spec, hwcToChw(x, h!, w!, c!));
  expect(spec.inputShape).toEqual([c, h, w]);
  probed.forEach((l, i) => {
    const s = map.get(l.name)!;
    const shape = specShape(l.outputShape as (number | null)[]);
    expect(s.outShape, `shape of ${l.name}`).toEqual(shape);
    // A conv or dense with a batch norm folded in computes the batch norm's output, not its own.
    if (probed.slice(i + 1).some((later) => map.get(later.name) === s)) return;
    const t = list[i]!;
    const got = t.rank === 4 ? hwcToChw(t.dataSync(), shape[1]!, shape[2]!, shape[0]!) : Float64Array.from(t.dataSync());
    const want = ref.get(s.name)!;
    const scale = Math.max(1, ...want.map(Math.abs));
    let worst = 0;
    for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[k]! - want[k]!));
    expect(worst / scale, `output of ${l.name} (spec layer ${s.name})`).toBeLessThan(1e-4);
  });
  tf.dispose([xt, ...list]);
}

/** What a party without weights should get from a spec imported with them. */
function withoutWeights(spec: ModelSpec): ModelSpec {
  const layers = spec.layers.map((l): LayerSpec => {
    switch (l.kind) {
      case 'conv2d':
      case 'dense':
        return { ...l, weight: null, bias: null };
      case 'affine':
        return { ...l, scale: null, shift: null };
      case 'activation':
        return l.activation.fn === 'ppoly'
          ? { ...l, activation: { ...l.activation, coefficients: l.activation.coefficients.map((r) => r.map(() => NaN)) } }
          : l;
      default:
        return l;
    }
  });
  return { ...spec, layers, hasWeights: false };
}

function sequentialModel(): LayersModel {
  const m = tfl.sequential({ name: 'plain' });
  m.add(tfl.layers.conv2d({ name: 'c1', inputShape: [10, 9, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', useBias: true }));
  m.add(tfl.layers.maxPooling2d({ name: 'mp', poolSize: 2 }));
  m.add(tfl.layers.flatten({ name: 'fl' }));
  m.add(tfl.layers.dense({ name: 'd1', units: 5, activation: 'relu' }));
  m.add(tfl.layers.dropout({ name: 'do', rate: 0.3 }));
  m.add(tfl.layers.dense({ name: 'd2', units: 3, activation: 'softmax' }));
  return m;
}

/** A functional model with what the builders do not use: unfoldable batch norms, PPoly, polynomial, 'same' pools, Reshape, Dense + BN, a softmax layer. */
function miscModel(): LayersModel {
  const apply = (layer: tfl.layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor => layer.apply(x) as SymbolicTensor;
  const input = tfl.input({ shape: [7, 7, 2], name: 'x' });
  const c1 = apply(tfl.layers.conv2d({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }), input);
  const b1 = apply(tfl.layers.batchNormalization({ name: 'b1' }), c1);
  const p1 = apply(new PPoly({ name: 'p1', coefficients: [0.1, 0.5, 0.2], perChannel: true }), b1);
  const mp = apply(tfl.layers.maxPooling2d({ name: 'mp', poolSize: 3, strides: 2, padding: 'same' }), p1);
  const c2 = apply(tfl.layers.conv2d({ name: 'c2', filters: 4, kernelSize: 3, padding: 'same' }), mp);
  const b2 = apply(tfl.layers.batchNormalization({ name: 'b2' }), c2);
  const s = apply(tfl.layers.add({ name: 's' }), [b2, c2]);
  const lk = apply(tfl.layers.leakyReLU({ name: 'lk', alpha: 0.2 }), s);
  const c3 = apply(tfl.layers.conv2d({ name: 'c3', filters: 6, kernelSize: 1, useBias: false }), lk);
  const b3 = apply(tfl.layers.batchNormalization({ name: 'b3' }), c3);
  const pa = apply(new PolynomialActivation({ name: 'pa', coefficients: [0, 0.5, 0.25] }), b3);
  const ap = apply(tfl.layers.averagePooling2d({ name: 'ap', poolSize: 3, strides: 2, padding: 'same' }), pa);
  const g = apply(tfl.layers.globalAveragePooling2d({ name: 'g' }), ap);
  const r = apply(tfl.layers.reshape({ name: 'r', targetShape: [6] }), g);
  const d = apply(tfl.layers.dense({ name: 'd', units: 5 }), r);
  const b4 = apply(tfl.layers.batchNormalization({ name: 'b4' }), d);
  const out = apply(tfl.layers.activation({ name: 'out', activation: 'softmax' }), b4);
  return tfl.model({ inputs: input, outputs: out, name: 'misc' });
}

class Mystery extends tfl.layers.Layer {
  static className = 'Mystery';
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return s;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.clone(Array.isArray(inputs) ? inputs[0]! : inputs);
  }
}
tf.serialization.registerClass(Mystery);

const kinds = (spec: ModelSpec): string[] => spec.layers.map((l) => `${l.kind}:${l.name}`);
const layer = <K extends LayerSpec['kind']>(spec: ModelSpec, name: string, kind: K): Extract<LayerSpec, { kind: K }> => {
  const l = spec.layers.find((x) => x.name === name);
  expect(l?.kind, name).toBe(kind);
  return l as Extract<LayerSpec, { kind: K }>;
};

function copyOf(dir: string): string {
  const to = freshDir('copy');
  cpSync(dir, to, { recursive: true });
  return to;
}

type ModelJson = { modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[]; output_layers?: unknown } }; weightsManifest: { weights: { name: string; shape: number[]; dtype: string }[] }[] };

function editJson(dir: string, edit: (j: ModelJson) => void): void {
  const file = path.join(dir, 'model.json');
  const j = JSON.parse(readFileSync(file, 'utf8')) as ModelJson;
  edit(j);
  writeFileSync(file, JSON.stringify(j));
}

const layerConfig = (j: ModelJson, name: string): Record<string, unknown> => j.modelTopology.config.layers.find((l) => l.config['name'] === name)!.config;
const manifestEntry = (j: ModelJson, name: string): { shape: number[]; dtype: string } => j.weightsManifest[0]!.weights.find((w) => w.name === name)!;

/** The Error message importModel throws. */
function importError(dir: string, weights = true): string {
  try {
    importModel(dir, { weights });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${dir}: imported without an error`);
}

describe('importModel', () => {
  let seqDir: string;
  let seq: LayersModel;
  beforeAll(async () => {
    await selectBackend('wasm');
    seq = sequentialModel();
    seqDir = await saved(seq, 'sequential', 1);
  });

  it('imports a Sequential model: TF padding, pools, Flatten in tfjs order, Dropout as identity, softmax at the output', () => {
    const spec = importModel(seqDir, { weights: true });
    expect(spec.source).toBe(path.join(seqDir, 'model.json'));
    expect(spec.hasWeights).toBe(true);
    expect(kinds(spec)).toEqual(['input:c1_input', 'conv2d:c1', 'maxpool:mp', 'flatten:fl', 'dense:d1', 'identity:do', 'dense:d2']);
    expect(spec.output).toBe('d2');
    expect(spec.inputShape).toEqual([2, 10, 9]);
    const c1 = layer(spec, 'c1', 'conv2d');
    // 10 rows, stride 2: 5 out, 1 pixel of padding, after; 9 columns: 2, one each side.
    expect(c1.padding).toEqual({ top: 0, bottom: 1, left: 1, right: 1 });
    expect(c1).toMatchObject({ outShape: [3, 5, 5], wShape: [3, 2, 3, 3], stride: [2, 2], hasBias: true, activation: { fn: 'linear' } });
    // Kernel [kh, kw, Ci, Co] -> [Co, Ci, kh, kw].
    const k = seq.getLayer('c1').getWeights()[0]!.dataSync();
    expect(c1.weight![((2 * 2 + 1) * 3 + 0) * 3 + 2]).toBe(k[((0 * 3 + 2) * 2 + 1) * 3 + 2]);
    expect(layer(spec, 'mp', 'maxpool')).toMatchObject({ outShape: [3, 2, 2], pool: [2, 2], stride: [2, 2], padding: { top: 0, bottom: 0, left: 0, right: 0 } });
    // Dense keeps tfjs's [in, out] rows, which is right because Flatten keeps the (h, w, c) order.
    const d1 = layer(spec, 'd1', 'dense');
    expect(d1).toMatchObject({ wShape: [12, 5], activation: { fn: 'relu' }, hasBias: true });
    expect(Array.from(d1.weight!)).toEqual(Array.from(seq.getLayer('d1').getWeights()[0]!.dataSync()));
    expect(layer(spec, 'd2', 'dense').activation).toEqual({ fn: 'softmax' });
    compareWithTfjs(seq, spec, 2);
  });

  it('Flatten order matters: reading the pooled map channel-first gives other logits', () => {
    const spec = importModel(seqDir, { weights: true });
    const rng = new Rng(5);
    const x = Float32Array.from({ length: 10 * 9 * 2 }, () => rng.normal());
    const ref = evaluateSpec(spec, hwcToChw(x, 10, 9, 2));
    const pooled = ref.get('mp')!;
    const d1 = layer(spec, 'd1', 'dense');
    // The spec's flatten output is the pooled [C, H, W] map in (h, w, c) order...
    const hwc = ref.get('fl')!;
    for (let ch = 0; ch < 3; ch++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(hwc[(i * 2 + j) * 3 + ch]).toBe(pooled[(ch * 2 + i) * 2 + j]);
    // ...and the raw [C, H, W] order would not reproduce tfjs's dense layer.
    const dense = (v: Float64Array): number[] => Array.from({ length: 5 }, (_, u) => v.reduce((a, xi, i) => a + xi * d1.weight![i * 5 + u]!, d1.bias![u]!));
    const tfjs = (tfl.model({ inputs: seq.inputs, outputs: seq.getLayer('d1').output as SymbolicTensor }).predict(tf.tensor4d(x, [1, 10, 9, 2])) as tf.Tensor).dataSync();
    const viaHwc = dense(hwc).map((v) => Math.max(v, 0));
    viaHwc.forEach((v, u) => expect(Math.abs(v - tfjs[u]!)).toBeLessThan(1e-4));
    expect(dense(pooled).map((v) => Math.max(v, 0)).some((v, u) => Math.abs(v - tfjs[u]!) > 1e-3)).toBe(true);
  });

  it('folds the seed CNN\'s batch norm into its conv: conv + BN in tfjs equals the folded conv within 1e-4', async () => {
    const m = buildModel({ name: 'cnn', inputShape: [8, 8, 1], numClasses: 4, activation: { kind: 'relu' }, seed: 3 });
    const dir = await saved(m, 'cnn', 4);
    const spec = importModel(dir, { weights: true });
    expect(kinds(spec)).toEqual(['input:input', 'conv2d:block1_conv', 'activation:block1_act', 'avgpool:pool1', 'flatten:flatten', 'dense:logits']);
    const conv = layer(spec, 'block1_conv', 'conv2d');
    expect(conv.hasBias).toBe(true);
    expect(conv.bias).not.toBeNull();
    expect(layer(spec, 'block1_act', 'activation').inputs).toEqual(['block1_conv']);
    // The folded conv with tfjs ops on the converted weights, against tfjs's conv -> BN.
    const rng = new Rng(6);
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 64 }, () => rng.normal()), [2, 8, 8, 1]);
    const hwio = tf.transpose(tf.tensor4d(conv.weight!, conv.wShape), [2, 3, 1, 0]) as tf.Tensor4D;
    const p = conv.padding;
    const folded = tf.add(tf.conv2d(x, hwio, conv.stride, [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]]), tf.tensor1d(conv.bias!));
    const expected = tfl.model({ inputs: m.inputs, outputs: m.getLayer('block1_bn').output as SymbolicTensor }).predict(x) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(folded, expected))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-4);
    // The statistics were far from the identity, so folding changed the weights.
    const raw = m.getLayer('block1_conv').getWeights()[0]!;
    expect(tf.max(tf.abs(tf.sub(hwio, raw))).dataSync()[0]!).toBeGreaterThan(1e-2);
    compareWithTfjs(m, spec, 7);
    expect(importModel(dir, { weights: false })).toEqual(withoutWeights(spec));
  });

  it('imports ResNet-20: every BN folded, option-A shortcuts, the add order kept; outputs match tfjs per layer', async () => {
    const m = buildModel({ name: 'resnet20', inputShape: [8, 8, 3], numClasses: 5, activation: { kind: 'leaky-relu', alpha: 0.1 }, seed: 8 });
    const dir = await saved(m, 'resnet20', 9);
    const spec = importModel(dir, { weights: true });
    const count = (k: string): number => spec.layers.filter((l) => l.kind === k).length;
    expect(count('conv2d')).toBe(19);
    expect(count('affine')).toBe(0);
    expect(spec.layers.filter((l) => l.kind === 'conv2d').every((l) => l.kind === 'conv2d' && l.hasBias)).toBe(true);
    expect(layer(spec, 's2b1_short', 'pad-shortcut')).toMatchObject({ stride: 2, padBefore: 8, padAfter: 8, outShape: [32, 4, 4], inputs: ['s1b3_act'] });
    expect(layer(spec, 's3b1_short', 'pad-shortcut')).toMatchObject({ stride: 2, padBefore: 16, padAfter: 16, outShape: [64, 2, 2] });
    // The add reads the folded conv where tfjs reads the batch norm.
    expect(layer(spec, 's1b1_add', 'add').inputs).toEqual(['s1b1b_conv', 'stem_act']);
    expect(layer(spec, 's1b1_act', 'activation').activation).toEqual({ fn: 'leaky-relu', alpha: 0.1 });
    // Stride-2 'same' on 8x8: the odd padding pixel after.
    expect(layer(spec, 's2b1a_conv', 'conv2d').padding).toEqual({ top: 0, bottom: 1, left: 0, right: 1 });
    expect(spec.output).toBe('logits');
    // Inputs come before their consumers.
    const seen = new Set<string>();
    for (const l of spec.layers) {
      for (const i of l.inputs) expect(seen.has(i), `${l.name} after ${i}`).toBe(true);
      seen.add(l.name);
    }
    compareWithTfjs(m, spec, 10);
    expect(importModel(dir, { weights: false })).toEqual(withoutWeights(spec));
  });

  it('imports the VGG (trained-with-NGNV activations as ReLU)', async () => {
    const m = buildModel({ name: 'vgg', inputShape: [8, 8, 3], numClasses: 4, activation: { kind: 'ngnv', r: 0.3, lambda: 0.1, variant: 'gaussian' }, seed: 11 });
    const dir = await saved(m, 'vgg', 12);
    const spec = importModel(dir, { weights: true });
    expect(spec.layers.filter((l) => l.kind === 'conv2d').length).toBe(6);
    expect(spec.layers.filter((l) => l.kind === 'avgpool').map((l) => l.outShape)).toEqual([[32, 4, 4], [64, 2, 2], [128, 1, 1]]);
    expect(layer(spec, 's1c1_act', 'activation').activation).toEqual({ fn: 'relu' });
    expect(layer(spec, 'gap', 'global-avgpool').outShape).toEqual([128]);
    compareWithTfjs(m, spec, 13);
  });

  it('imports a functional model with unfoldable batch norms, PPoly, polynomial, \'same\' pools, Reshape, Dense + BN, a softmax layer', async () => {
    const m = miscModel();
    const dir = await saved(m, 'misc', 14);
    const spec = importModel(dir, { weights: true });
    expect(kinds(spec)).toEqual([
      'input:x', 'conv2d:c1', 'affine:b1', 'activation:p1', 'maxpool:mp', 'conv2d:c2', 'affine:b2', 'add:s', 'activation:lk',
      'conv2d:c3', 'activation:pa', 'avgpool:ap', 'global-avgpool:g', 'identity:r', 'dense:d', 'activation:out',
    ]);
    // b1 follows a ReLU conv, b2 a conv whose output the add also reads: both stay per-channel affine layers.
    expect(layer(spec, 'b1', 'affine')).toMatchObject({ channels: 4, inputs: ['c1'] });
    expect(layer(spec, 's', 'add').inputs).toEqual(['b2', 'c2']);
    expect(layer(spec, 'c3', 'conv2d')).toMatchObject({ hasBias: true, padding: { top: 0, bottom: 0, left: 0, right: 0 } });
    expect(layer(spec, 'd', 'dense').hasBias).toBe(true);
    expect(layer(spec, 'out', 'activation')).toMatchObject({ inputs: ['d'], activation: { fn: 'softmax' } });
    const p1 = layer(spec, 'p1', 'activation').activation;
    expect(p1.fn === 'ppoly' && p1.perChannel && p1.coefficients.length === 4 && p1.coefficients.every((r) => r.length === 3)).toBe(true);
    expect(layer(spec, 'pa', 'activation').activation).toEqual({ fn: 'polynomial', coefficients: [0, 0.5, 0.25] });
    // 7x7, pool 3 stride 2 'same': 4x4 with 1 pixel each side; 4x4 -> 2x2, 1 after.
    expect(layer(spec, 'mp', 'maxpool')).toMatchObject({ outShape: [4, 4, 4], padding: { top: 1, bottom: 1, left: 1, right: 1 } });
    expect(layer(spec, 'ap', 'avgpool')).toMatchObject({ outShape: [6, 2, 2], padding: { top: 0, bottom: 1, left: 0, right: 1 } });
    compareWithTfjs(m, spec, 15);
    // Without weights: the same layers; PPoly's coefficients unknown but shaped (degree, channels).
    const bare = importModel(dir, { weights: false });
    expect(bare).toEqual(withoutWeights(spec));
    const bp1 = layer(bare, 'p1', 'activation').activation;
    expect(bp1.fn === 'ppoly' && bp1.coefficients.flat().every(Number.isNaN)).toBe(true);
  });
});

describe('importModel refuses bad models, naming the file and the layer', () => {
  let seqDir: string;
  let file: string;
  beforeAll(async () => {
    await selectBackend('wasm');
    seqDir = await saved(sequentialModel(), 'sequential', 21);
    file = path.join(seqDir, 'model.json');
  });
  const escaped = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('a missing model.json, invalid JSON, or not a layers model', () => {
    expect(importError(freshDir('nothing'))).toMatch(/model\.json: model file not found/);
    const bad = copyOf(seqDir);
    writeFileSync(path.join(bad, 'model.json'), '{"modelTopology": ');
    expect(importError(bad)).toMatch(new RegExp(`^${escaped(path.join(bad, 'model.json'))}: not valid JSON`));
    editJsonRaw(bad, { format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] });
    expect(importError(bad)).toMatch(/model\.json: not a tfjs layers model \(format "graph-model"\)/);
    editJsonRaw(bad, { weightsManifest: [] });
    expect(importError(bad)).toMatch(/model\.json: not a tfjs layers model/);
  });

  it('a missing, truncated or too long weights file (not read at all without weights)', () => {
    const missing = copyOf(seqDir);
    rmSync(path.join(missing, 'weights.bin'));
    expect(importError(missing)).toBe(`${path.join(missing, 'weights.bin')}: weights file named by ${path.join(missing, 'model.json')} not found`);
    expect(importModel(missing, { weights: false }).layers.length).toBe(7);
    const bytes = readFileSync(path.join(seqDir, 'weights.bin'));
    const short = copyOf(seqDir);
    writeFileSync(path.join(short, 'weights.bin'), bytes.subarray(0, bytes.length - 8));
    expect(importError(short)).toBe(`${path.join(short, 'weights.bin')}: ${bytes.length - 8} bytes, the manifest in ${path.join(short, 'model.json')} needs ${bytes.length} (truncated)`);
    const long = copyOf(seqDir);
    writeFileSync(path.join(long, 'weights.bin'), Buffer.concat([bytes, Buffer.alloc(4)]));
    expect(importError(long)).toMatch(/weights\.bin: \d+ bytes, the manifest in .*model\.json needs \d+ \(too long\)/);
  });

  it('weights that are not float32', () => {
    const dir = copyOf(seqDir);
    editJson(dir, (j) => {
      manifestEntry(j, 'd1/bias').dtype = 'int32';
    });
    expect(importError(dir, false)).toMatch(/model\.json: weight d1\/bias has dtype int32: only float32 weights are supported/);
  });

  it('an unknown layer class, listing the supported ones', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.conv2d({ name: 'c1', inputShape: [6, 6, 1], filters: 2, kernelSize: 3 }));
    m.add(new Mystery({ name: 'myst' }));
    m.add(tfl.layers.flatten({ name: 'fl' }));
    m.add(tfl.layers.dense({ name: 'd', units: 2 }));
    const dir = freshDir('mystery');
    await saveModel(m, dir);
    const msg = importError(dir);
    expect(msg).toMatch(new RegExp(`^${escaped(path.join(dir, 'model.json'))}: unsupported layers: myst \\(Mystery\\) \\(supported: InputLayer, Conv2D, Dense,`));
    expect(msg).toContain(SUPPORTED_LAYERS.join(', '));
  });

  it('a kernel that does not match the inferred input', () => {
    const dir = copyOf(seqDir);
    editJson(dir, (j) => {
      manifestEntry(j, 'd1/kernel').shape = [10, 6];
    });
    expect(importError(dir)).toBe(`${path.join(dir, 'model.json')}: layer d1 (Dense): kernel shape [10, 6] does not match its input of 12 features`);
  });

  it('softmax before the output', () => {
    const dir = copyOf(seqDir);
    editJson(dir, (j) => {
      layerConfig(j, 'd1')['activation'] = 'softmax';
    });
    expect(importError(dir)).toMatch(/model\.json: layer d1 \(Dense\): softmax is only supported as the model's output/);
  });

  it('reports every problem at once', () => {
    const dir = copyOf(seqDir);
    editJson(dir, (j) => {
      layerConfig(j, 'c1')['data_format'] = 'channels_first';
      layerConfig(j, 'c1')['dilation_rate'] = [2, 2];
      layerConfig(j, 'd1')['activation'] = 'softmax';
      manifestEntry(j, 'd2/kernel').shape = [3, 5];
    });
    const msg = importError(dir);
    expect(msg.startsWith(`${file.replace(seqDir, dir)}: `)).toBe(true);
    expect(msg).toContain('layer c1 (Conv2D): data_format channels_first is not supported (only channels_last)');
    expect(msg).toContain('layer c1 (Conv2D): dilation_rate [2, 2] is not supported (only 1)');
    expect(msg).toContain('layer d1 (Dense): softmax is only supported as the model\'s output');
    expect(msg).toContain('layer d2 (Dense): kernel shape [3, 5] does not match its input of 5 features');
    // An unknown class comes first, with the problems of the layers before it.
    editJson(dir, (j) => {
      j.modelTopology.config.layers.find((l) => l.config['name'] === 'mp')!.class_name = 'Conv3D';
    });
    const msg2 = importError(dir, false);
    expect(msg2).toMatch(/model\.json: unsupported layers: mp \(Conv3D\) \(supported: [^)]*\); layer c1 \(Conv2D\): data_format/);
  });

  it('more than one output', async () => {
    const dir = await saved(miscModel(), 'misc', 22);
    editJson(dir, (j) => {
      j.modelTopology.config.output_layers = [['out', 0, 0], ['d', 0, 0]];
    });
    expect(importError(dir, false)).toMatch(/model\.json: 2 model outputs \(out, d\): exactly one is supported/);
  });
});

function editJsonRaw(dir: string, json: unknown): void {
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
}

describe('readModelFiles', () => {
  it('reads the weights by name as float32 arrays, or only their shapes', async () => {
    await selectBackend('wasm');
    const m = sequentialModel();
    const dir = await saved(m, 'files', 31);
    const all = readModelFiles(dir, { weights: true });
    expect([...all.weights.keys()]).toEqual(['c1/kernel', 'c1/bias', 'd1/kernel', 'd1/bias', 'd2/kernel', 'd2/bias']);
    expect(all.weights.get('d2/kernel')!.shape).toEqual([5, 3]);
    expect(Array.from(all.weights.get('d2/kernel')!.values!)).toEqual(Array.from(m.getLayer('d2').getWeights()[0]!.dataSync()));
    const bare = readModelFiles(dir, { weights: false });
    expect([...bare.weights.values()].map((w) => [w.shape, w.values])).toEqual([...all.weights.values()].map((w) => [w.shape, null]));
    expect(bare.topology).toEqual(all.topology);
  });
});
