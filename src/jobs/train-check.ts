/**
 * One or more MPC training steps of the seed CNN on a given batch, for
 * tests: the model owner P0 shares the weights, the data owner P1 the
 * images and one-hot labels; after the steps every trainable tensor and the
 * moving statistics are revealed to both holders (P2 returns nothing). The
 * same job runs in the plaintext context (the reference) and in real 2- or
 * 3-party processes.
 */
import type { Normalisation } from '../../protocols/range-normalisation.js';
import { reveal, shareInput } from '../../protocols/sharing.js';
import type { Context } from '../mpc/context.js';
import { shareParams } from '../nn/graph.js';
import { seedCnnSpec, type SeedCnnShape, type SeedCnnWeights } from '../nn/train/seed-cnn.js';
import { initialState, refName, trainableRefs, trainableValues, trainStep } from '../nn/train/step.js';

export interface TrainCheckJob {
  kind: 'train-check';
  model: SeedCnnShape;
  weights: SeedCnnWeights;
  /** NCHW images, N = labels.length. */
  images: number[];
  labels: number[];
  steps: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Public bound on the logits' spread (softmax 'mean' shift). */
  logitSpread: number;
  normalisation: Normalisation;
}

export interface TrainCheckOutput {
  /** refName of every trainable tensor, then bn.movingMean / bn.movingVariance. */
  names: string[];
  /** Revealed values (empty on P2). */
  values: number[][];
  seconds: number;
}

const MODEL_OWNER = 0;
const DATA_OWNER = 1;

export async function trainCheck(ctx: Context, job: TrainCheckJob): Promise<TrainCheckOutput> {
  const t0 = performance.now();
  const s = job.model;
  const spec = seedCnnSpec(s, ctx.isPlain || ctx.id === MODEL_OWNER ? job.weights : null);
  const n = job.labels.length;
  const mine = ctx.isPlain || ctx.id === DATA_OWNER;
  const onehot = new Float64Array(n * s.classes);
  job.labels.forEach((y, i) => { onehot[i * s.classes + y] = 1; });
  const params = shareParams(ctx, spec);
  const x = shareInput(ctx, DATA_OWNER, mine ? job.images : null, [n, ...s.inputShape]);
  const y = shareInput(ctx, DATA_OWNER, mine ? onehot : null, [n, s.classes]);
  let state = initialState(spec, params);
  for (let i = 0; i < job.steps; i++) {
    state = await trainStep(ctx, spec, state, { x, y }, {
      lr: job.lr, momentum: job.momentum, weightDecay: job.weightDecay, nl: { kind: 'poly' },
      softmax: { shift: { kind: 'mean', spread: job.logitSpread } }, batchNorm: { normalisation: job.normalisation },
    });
    ctx.progress({ message: `train-check step ${i + 1} done`, step: i + 1 });
  }
  const refs = trainableRefs(spec, state.params);
  const tensors = trainableValues(state.params, refs);
  const names = refs.map(refName);
  const bn = state.params.get('bn');
  if (bn?.movingMean && bn.movingVariance) {
    tensors.push(bn.movingMean, bn.movingVariance);
    names.push('bn.movingMean', 'bn.movingVariance');
  }
  const values: number[][] = [];
  for (const t of tensors) values.push(Array.from(await reveal(ctx, t)));
  return { names, values: ctx.isHelper ? [] : values, seconds: (performance.now() - t0) / 1000 };
}

function num(o: Record<string, unknown>, name: string, ok: (v: number) => boolean): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new TypeError(`job: train-check '${name}' is missing or out of range: ${JSON.stringify(v)}`);
  return v;
}

function list(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new TypeError(`job: train-check ${what} must be a list of finite numbers`);
  return v as number[];
}

/** Checks the numbers the protocol relies on; shapes are checked when the spec and inputs are built. */
export function parseTrainCheckJob(o: Record<string, unknown>): TrainCheckJob {
  const model = o['model'] as SeedCnnShape | undefined;
  const weights = o['weights'] as SeedCnnWeights | undefined;
  if (typeof model !== 'object' || model === null || typeof weights !== 'object' || weights === null) throw new TypeError('job: train-check needs model and weights objects');
  const images = list(o['images'], 'images');
  const labels = list(o['labels'], 'labels');
  if (labels.length === 0 || !labels.every((y) => Number.isInteger(y) && y >= 0 && y < model.classes)) throw new TypeError('job: train-check labels must be class indices');
  const normalisation = o['normalisation'];
  if (normalisation !== 'public' && normalisation !== 'private') throw new TypeError(`job: train-check normalisation must be 'public' or 'private'`);
  return {
    kind: 'train-check', model, weights, images, labels, normalisation,
    steps: num(o, 'steps', (v) => Number.isInteger(v) && v >= 1 && v <= 100),
    lr: num(o, 'lr', (v) => v > 0), momentum: num(o, 'momentum', (v) => v >= 0 && v < 1), weightDecay: num(o, 'weightDecay', (v) => v >= 0),
    logitSpread: num(o, 'logitSpread', (v) => v >= 0),
  };
}
