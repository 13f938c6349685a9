/**
 * The plaintext trainer: SGD with momentum, step-decay learning rate, L2
 * weight decay, optional Mixup and NGNV, per-epoch checkpoints and --resume,
 * a tfjs model plus manifest at the end.
 *
 * Reproducibility: the initial weights come from the seed; epoch e shuffles
 * and draws Mixup's lambdas from the stream derive(seed, 1, e), and step s of
 * epoch e seeds the NGNV noise with derive(seed, 2, e, s). Nothing random is
 * carried across epochs, so a resumed run matches an uninterrupted one
 * bit for bit on the same backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { measureNormalization, type Normalization } from '../data/normalization.js';
import type { ImageDataset } from '../data/types.js';
import { NgnvRelu } from './activations/ngnv.js';
import type { BackendChoice } from './backend.js';
import { batchInputs, datasetShape, inputTensor } from './batches.js';
import { readCheckpoint, restoreCheckpoint, saveCheckpoint } from './checkpoint.js';
import { evaluateAccuracy } from './evaluate.js';
import { MANIFEST_FORMAT, writeManifest, type BackboneManifest, type EpochMetrics, type TrainSettings } from './manifest.js';
import { mixup, oneHot } from './mixup.js';
import { MODEL_FILE, saveModel, WEIGHTS_FILE } from './model-io.js';
import { buildFromSettings, parameterCount } from './models/index.js';
import { stepProgress } from './progress.js';
import { deriveSeed, Rng } from '../common/random.js';
import { SgdMomentum, stepDecayLr } from './sgd.js';

export interface TrainOptions {
  dataset: ImageDataset;
  settings: TrainSettings;
  backend: BackendChoice;
  /** Where checkpoints, the model and the manifest go; without it nothing is written. */
  outDir?: string;
  /** Continue from outDir's checkpoint. */
  resume?: boolean;
  /** Stop once this many epochs are done (the checkpoint stays for --resume). */
  stopAfter?: number;
  /** Progress bar on stderr (when it is a terminal). */
  progress?: boolean;
  /** One line per epoch. */
  log?: (line: string) => void;
}

export interface TrainResult {
  model: LayersModel;
  manifest: BackboneManifest;
  epochsDone: number;
  complete: boolean;
}

export function checkSettings(s: TrainSettings): void {
  if (!Number.isInteger(s.epochs) || s.epochs < 1) throw new Error(`epochs must be a positive integer, got ${s.epochs}`);
  if (!Number.isInteger(s.batchSize) || s.batchSize < 1) throw new Error(`batch size must be a positive integer, got ${s.batchSize}`);
  if (!(s.lr > 0)) throw new Error(`learning rate must be positive, got ${s.lr}`);
  if (!(s.lrGamma > 0)) throw new Error(`learning-rate decay factor must be positive, got ${s.lrGamma}`);
  if (s.lrSteps.some((e) => !Number.isInteger(e) || e < 0)) throw new Error(`learning-rate steps must be epoch numbers, got ${s.lrSteps.join(',')}`);
  if (!(s.mixupAlpha > 0)) throw new Error(`mixup alpha must be positive, got ${s.mixupAlpha}`);
  if (!Number.isInteger(s.seed)) throw new Error(`seed must be an integer, got ${s.seed}`);
}

/** Settings that must agree for a checkpoint to be resumed (epochs may grow). */
function resumeMismatch(a: TrainSettings, b: TrainSettings): string | undefined {
  const { epochs: _a, ...ra } = a;
  const { epochs: _b, ...rb } = b;
  const ja = JSON.stringify(ra);
  const jb = JSON.stringify(rb);
  return ja === jb ? undefined : `checkpoint settings ${jb} differ from this run's ${ja}`;
}

/**
 * One SGD step on a batch (inputs x, soft or one-hot labels y): softmax
 * cross-entropy, gradients of the model's trainable weights, the update.
 * Returns the batch loss. The bench times exactly this.
 */
export async function trainStep(model: LayersModel, sgd: SgdMomentum, x: tf.Tensor, y: tf.Tensor, lr: number): Promise<number> {
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    sgd.vars as tf.Variable[],
  );
  sgd.step(sgd.vars.map((v) => grads[v.name]!), lr);
  const loss = (await value.data())[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}

/** The trainable variables of a model, in the order SgdMomentum and checkpoints use. */
export function trainableVariables(model: LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const { dataset: d, settings: s } = o;
  checkSettings(s);
  const log = o.log ?? (() => {});
  const norm: Normalization = measureNormalization(d.train, d.channels);
  const shape = datasetShape(d);
  const model = buildFromSettings(s, shape, d.numClasses);
  const sgd = new SgdMomentum(trainableVariables(model), s.momentum, s.weightDecay);
  const ngnvLayers = model.layers.filter((l): l is NgnvRelu => l instanceof NgnvRelu);

  let history: EpochMetrics[] = [];
  let seconds = 0;
  let start = 0;
  if (o.resume) {
    if (o.outDir === undefined) throw new Error('--resume needs --out (the directory holding the checkpoint)');
    const ckpt = readCheckpoint(o.outDir);
    if (ckpt === undefined) throw new Error(`${o.outDir}: no checkpoint to resume from`);
    const mismatch = resumeMismatch(s, ckpt.state.settings);
    if (mismatch) throw new Error(`${ckpt.file}: cannot resume: ${mismatch}`);
    restoreCheckpoint(ckpt, model, sgd);
    start = ckpt.state.epochsDone;
    history = ckpt.state.history;
    seconds = ckpt.state.seconds;
    log(`resumed from ${o.outDir} after epoch ${start}`);
  }

  const n = d.train.count;
  const steps = Math.ceil(n / s.batchSize);
  const progress = stepProgress(o.progress ?? false);
  let epoch = start;
  for (; epoch < s.epochs; epoch++) {
    if (o.stopAfter !== undefined && epoch >= o.stopAfter) break;
    const lr = stepDecayLr(s.lr, s.lrSteps, s.lrGamma, epoch);
    const rng = new Rng(deriveSeed(s.seed, 1, epoch));
    const order = rng.permutation(n);
    let lossSum = 0;
    const t0 = performance.now();
    progress.start(steps, `epoch ${epoch + 1}/${s.epochs}`);
    for (let step = 0; step < steps; step++) {
      const idx = order.subarray(step * s.batchSize, Math.min(n, (step + 1) * s.batchSize));
      const m = idx.length;
      let x = batchInputs(d, d.train, idx, norm);
      const labels = Array.from(idx, (i) => d.train.labels[i]!);
      let y: Float32Array;
      if (s.mixup) {
        const mixed = mixup(x, labels, d.numClasses, rng, s.mixupAlpha);
        x = mixed.x;
        y = mixed.y;
      } else {
        y = oneHot(labels, d.numClasses);
      }
      for (const l of ngnvLayers) l.reseed(deriveSeed(s.seed, 2, epoch, step));
      const xt = inputTensor(d, x, m);
      const yt = tf.tensor2d(y, [m, d.numClasses]);
      const loss = await trainStep(model, sgd, xt, yt, lr);
      tf.dispose([xt, yt]);
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at epoch ${epoch + 1}, step ${step + 1} (try a lower --lr)`);
      lossSum += loss * m;
      const elapsed = (performance.now() - t0) / 1000;
      progress.update(step + 1, { loss: lossSum / Math.min(n, (step + 1) * s.batchSize), rate: Math.min(n, (step + 1) * s.batchSize) / elapsed });
    }
    progress.stop();
    const epochSeconds = (performance.now() - t0) / 1000;
    seconds += epochSeconds;
    const acc = await evaluateAccuracy(model, d, d.test, norm);
    const metrics: EpochMetrics = { epoch: epoch + 1, lr, trainLoss: lossSum / n, testAccuracy: acc.accuracy, seconds: epochSeconds, imagesPerSecond: n / epochSeconds };
    history.push(metrics);
    log(`epoch ${epoch + 1}/${s.epochs}: lr ${+lr.toPrecision(6)}, train loss ${metrics.trainLoss.toFixed(4)}, test accuracy ${(acc.accuracy * 100).toFixed(2)}% (${acc.n}), ${epochSeconds.toFixed(1)} s, ${metrics.imagesPerSecond.toFixed(0)} img/s`);
    if (o.outDir !== undefined) await saveCheckpoint(o.outDir, model, sgd, { epochsDone: epoch + 1, settings: s, history, seconds });
  }
  sgd.dispose();

  const last = history[history.length - 1];
  const manifest: BackboneManifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    createdAt: new Date().toISOString(),
    dataset: {
      spec: d.spec, kind: d.kind, height: d.height, width: d.width, channels: d.channels, numClasses: d.numClasses,
      trainCount: d.train.count, testCount: d.test.count, split: d.split,
    },
    normalization: norm,
    model: { name: s.model, parameters: parameterCount(model), file: MODEL_FILE, weights: WEIGHTS_FILE },
    activation: s.activation,
    training: { ...s, backend: o.backend.name, backendDetail: o.backend.detail, seconds },
    metrics: { testAccuracy: last?.testAccuracy ?? 0, testCount: d.test.count, finalTrainLoss: last?.trainLoss ?? NaN, epochs: history },
  };
  if (o.outDir !== undefined) {
    await saveModel(model, o.outDir);
    writeManifest(o.outDir, manifest);
  }
  return { model, manifest, epochsDone: epoch, complete: epoch >= s.epochs };
}
