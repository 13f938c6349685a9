/**
 * The tiny seed CNN of the training tests (conv 2 filters 3x3 on 6x6x1 ->
 * BN -> PPoly degree 3 per channel -> avgpool 2x2 -> dense 3 classes, batch
 * 4), its seeded weights and batch as a 'train-check' job, and the same
 * steps in plaintext tfjs (src/plain/train.ts's trainStep and SgdMomentum,
 * the BN layer of src/plain/models/common.ts) as the reference. Variants:
 * without BN (a conv bias instead) and with a fixed polynomial
 * (PolynomialActivation, public coefficients) instead of PPoly.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import type { TrainCheckJob } from '../../src/jobs/train-check.js';
import type { SeedCnnShape, SeedCnnWeights } from '../../src/nn/train/seed-cnn.js';
import { PolynomialActivation, PPoly } from '../../src/plain/activations/index.js';
import { batchNorm } from '../../src/plain/models/common.js';
import { SgdMomentum } from '../../src/plain/sgd.js';
import { trainableVariables, trainStep } from '../../src/plain/train.js';

/** Seeded normal samples (Box-Muller on a small LCG): not secret, just repeatable. */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export const SHAPE: SeedCnnShape = {
  inputShape: [1, 6, 6], filters: 2, kernel: 3, classes: 3, degree: 3, perChannel: true, bn: true,
  epsilon: 1e-5, momentum: 0.9, varianceRange: { min: 0.25, max: 16 },
};

export interface TinyVariant {
  /** Batch norm (default true); without it the conv has a bias. */
  bn?: boolean;
  /** A fixed polynomial activation with these public coefficients instead of PPoly. */
  fixed?: number[];
}

export function tinyJob(steps = 2, variant: TinyVariant = {}): TrainCheckJob {
  const g = gaussian(7);
  const list = (n: number, scale: number, offset = 0): number[] => Array.from({ length: n }, () => offset + scale * g());
  const f = SHAPE.filters;
  const features = f * 3 * 3;
  const weights: SeedCnnWeights = {
    conv: list(f * 9, 0.5),
    gamma: list(f, 0.1, 1), beta: list(f, 0.1),
    movingMean: new Array<number>(f).fill(0), movingVariance: new Array<number>(f).fill(1),
    // Near the least-squares cubic of Leaky ReLU on N(0, 1.2^2) (the seed's best initialisation), per channel.
    coefficients: Array.from({ length: f }, () => [0.2, 0.6, 0.25, -0.02].map((c) => c + 0.02 * g())),
    dense: list(features * SHAPE.classes, 0.4), denseBias: list(SHAPE.classes, 0.05),
  };
  const n = 4;
  const images = list(n * 36, 1, 0.2);
  // Variants draw after the default job's numbers, so it stays what it was.
  const model: SeedCnnShape = { ...SHAPE, bn: variant.bn ?? true };
  if (!model.bn) {
    weights.convBias = list(f, 0.1);
    for (const k of ['gamma', 'beta', 'movingMean', 'movingVariance'] as const) delete weights[k];
  }
  if (variant.fixed) Object.assign(model, { fixed: [...variant.fixed], degree: variant.fixed.length - 1, perChannel: false });
  return {
    kind: 'train-check', model, weights, images, labels: [0, 2, 1, 2], steps,
    lr: 0.1, momentum: 0.9, weightDecay: 5e-4, logitSpread: 8, normalisation: 'public',
  };
}

/** NCHW -> NHWC for one channel count. */
function toNhwc(x: number[], n: number, c: number, h: number, w: number): number[] {
  const out = new Array<number>(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) out[((b * h + i) * w + j) * c + ch] = x[((b * c + ch) * h + i) * w + j]!;
  return out;
}

/** The job's steps in tfjs float32; values by the job's names (ring layout). */
export async function tfjsReference(job: TrainCheckJob): Promise<Map<string, number[]>> {
  const s = job.model;
  const [c, h, w] = s.inputShape;
  const k = s.kernel;
  const f = s.filters;
  const input = tfl.input({ shape: [h, w, c] });
  const conv = tfl.layers.conv2d({ filters: f, kernelSize: k, padding: 'same', useBias: !s.bn });
  const bn = s.bn ? batchNorm('bn') : null;
  const act = s.fixed ? new PolynomialActivation({ coefficients: s.fixed }) : new PPoly({ coefficients: job.weights.coefficients[0]!, perChannel: true });
  const dense = tfl.layers.dense({ units: s.classes });
  let y = conv.apply(input) as SymbolicTensor;
  if (bn) y = bn.apply(y) as SymbolicTensor;
  y = act.apply(y) as SymbolicTensor;
  y = tfl.layers.averagePooling2d({ poolSize: 2, strides: 2 }).apply(y) as SymbolicTensor;
  y = tfl.layers.flatten().apply(y) as SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: dense.apply(y) as SymbolicTensor });
  const wt = job.weights;
  // [Co, Ci, kh, kw] -> [kh, kw, Ci, Co]
  const kernel = new Array<number>(wt.conv.length);
  for (let o = 0; o < f; o++) for (let i = 0; i < c; i++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) kernel[((a * k + b) * c + i) * f + o] = wt.conv[((o * c + i) * k + a) * k + b]!;
  conv.setWeights([tf.tensor4d(kernel, [k, k, c, f]), ...(s.bn ? [] : [tf.tensor1d(wt.convBias!)])]);
  bn?.setWeights([tf.tensor1d(wt.gamma!), tf.tensor1d(wt.beta!), tf.tensor1d(wt.movingMean!), tf.tensor1d(wt.movingVariance!)]);
  const d = s.degree + 1;
  if (!s.fixed) {
    const coef = new Array<number>(d * f);
    for (let kk = 0; kk < d; kk++) for (let ch = 0; ch < f; ch++) coef[kk * f + ch] = wt.coefficients[ch]![kk]!;
    act.setWeights([tf.tensor2d(coef, [d, f])]);
  }
  dense.setWeights([tf.tensor2d(wt.dense, [wt.dense.length / s.classes, s.classes]), tf.tensor1d(wt.denseBias)]);
  const n = job.labels.length;
  const x = tf.tensor4d(toNhwc(job.images, n, c, h, w), [n, h, w, c]);
  const labels = tf.oneHot(tf.tensor1d(job.labels, 'int32'), s.classes);
  const sgd = new SgdMomentum(trainableVariables(model), job.momentum, job.weightDecay);
  for (let i = 0; i < job.steps; i++) await trainStep(model, sgd, x, labels, job.lr);
  const out = new Map<string, number[]>();
  const kNew = Array.from(await conv.getWeights()[0]!.data());
  const convRing = new Array<number>(kNew.length);
  for (let o = 0; o < f; o++) for (let i = 0; i < c; i++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) convRing[((o * c + i) * k + a) * k + b] = kNew[((a * k + b) * c + i) * f + o]!;
  out.set('conv.weight', convRing);
  if (bn) {
    const [gamma, beta, mm, mv] = await Promise.all(bn.getWeights().map(async (t) => Array.from(await t.data())));
    out.set('bn.gamma', gamma!).set('bn.beta', beta!).set('bn.movingMean', mm!).set('bn.movingVariance', mv!);
  } else out.set('conv.bias', Array.from(await conv.getWeights()[1]!.data()));
  if (!s.fixed) {
    const cNew = Array.from(await act.getWeights()[0]!.data());
    for (let kk = 0; kk < d; kk++) out.set(`act.c${kk}`, cNew.slice(kk * f, (kk + 1) * f));
  }
  const [dk, db] = await Promise.all(dense.getWeights().map(async (t) => Array.from(await t.data())));
  out.set('logits.weight', dk!).set('logits.bias', db!);
  sgd.dispose();
  model.dispose();
  tf.dispose([x, labels]);
  return out;
}

/** The initial values by name (for update sizes). */
export function initialValues(job: TrainCheckJob): Map<string, number[]> {
  const w = job.weights;
  const m = new Map<string, number[]>([['conv.weight', w.conv], ['logits.weight', w.dense], ['logits.bias', w.denseBias]]);
  if (job.model.bn) m.set('bn.gamma', w.gamma!).set('bn.beta', w.beta!).set('bn.movingMean', w.movingMean!).set('bn.movingVariance', w.movingVariance!);
  else m.set('conv.bias', w.convBias!);
  if (!job.model.fixed) for (let kk = 0; kk <= job.model.degree; kk++) m.set(`act.c${kk}`, w.coefficients.map((r) => r[kk]!));
  return m;
}

/** Largest |a - b| over the largest |b - initial| (the update's size), per tensor, and the overall max abs error. */
export function compareUpdates(got: { names: string[]; values: number[][] }, ref: Map<string, number[]>, init: Map<string, number[]>): { maxAbs: number; worstRelUpdate: number; worst: string } {
  let maxAbs = 0;
  let worstRelUpdate = 0;
  let worst = '';
  got.names.forEach((name, i) => {
    const r = ref.get(name);
    const s = init.get(name);
    if (!r || !s) throw new Error(`no reference for ${name}`);
    const v = got.values[i]!;
    let err = 0;
    let upd = 0;
    v.forEach((x, j) => { err = Math.max(err, Math.abs(x - r[j]!)); upd = Math.max(upd, Math.abs(r[j]! - s[j]!)); });
    maxAbs = Math.max(maxAbs, err);
    const rel = err / Math.max(upd, 1e-3);
    if (rel > worstRelUpdate) { worstRelUpdate = rel; worst = name; }
  });
  return { maxAbs, worstRelUpdate, worst };
}
