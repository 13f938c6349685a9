/**
 * `mpcnet train --mpc`: the seed CNN trained under secret sharing, run by
 * every party (and, with --emulate, by the plaintext context).
 *
 * The model owner P0 builds the plaintext model with the plaintext builder
 * and seed (identical initial weights) and shares them; the data owner P1
 * shares each batch's images and one-hot labels, in the order of the
 * plaintext trainer's seeded permutation (src/plain/train.ts); weights,
 * velocities and moving statistics stay shared. With revealLoss the data
 * owner alone learns the true-class probabilities of each batch (hence the
 * loss). At the end the weights are revealed to P0 only, who saves them as
 * the plaintext builder's tfjs model with a manifest. Every party
 * checkpoints its own shares (src/jobs/train-mpc-checkpoint.ts).
 * The activation is a PPoly (coefficients shared by P0 and trained) or a
 * fixed polynomial (`--act poly:` / `fit:`: public coefficients in the
 * shape, nothing shared, trained or checkpointed for them); the CNN has
 * batch norm or, with --no-bn, a conv bias (trained like any bias).
 */
import { mul } from '../../protocols/beaver.js';
import type { Normalisation } from '../../protocols/range-normalisation.js';
import { revealTo, shareInput } from '../../protocols/sharing.js';
import { deriveSeed, Rng } from '../common/random.js';
import { loadDataset } from '../data/index.js';
import type { Normalization } from '../data/normalization.js';
import type { BoundExcess, Context, ProfileEntry } from '../mpc/context.js';
import type { Shared } from '../mpc/shared.js';
import { snapshot, trafficSince } from '../mpc/traffic.js';
import { shareParams, type ModelParams } from '../nn/graph.js';
import { nhwcToNchw } from '../nn/layers/tensor-ops.js';
import { seedCnnSpec, type SeedCnnShape, type SeedCnnWeights } from '../nn/train/seed-cnn.js';
import { sgdStep } from '../nn/train/sgd.js';
import { computeGradients, initialState, refName, trainableRefs, trainableValues, withTrainable, type TrainState } from '../nn/train/step.js';
import { seedCnnWeightsOf, setSeedCnnWeights } from '../nn/train/tfjs-seed-cnn.js';
import { selectBackend } from '../plain/backend.js';
import { batchInputs } from '../plain/batches.js';
import { MANIFEST_FORMAT, writeManifest, type BackboneManifest, type TrainSettings } from '../plain/manifest.js';
import { oneHot } from '../plain/mixup.js';
import { MODEL_FILE, saveModel, WEIGHTS_FILE } from '../plain/model-io.js';
import { buildFromSettings, parameterCount } from '../plain/models/index.js';
import { stepDecayLr } from '../plain/sgd.js';
import { encodeTensor, loadPartyCheckpoint, partyTag, writePartyCheckpoint, type CheckpointPosition, type MpcCheckpointMeta } from './train-mpc-checkpoint.js';

export interface TrainMpcJob {
  kind: 'train-mpc';
  /** Absolute output directory (model, manifest, checkpoints). */
  out: string;
  dataset: string;
  limitTrain?: number;
  limitTest?: number;
  /** Public: the training split's size and image shape [H, W, C], classes. */
  trainCount: number;
  imageShape: [number, number, number];
  numClasses: number;
  shape: SeedCnnShape;
  settings: TrainSettings;
  /** Input normalisation (public, as in inference; saved in the manifest). */
  normalization: Normalization;
  /** Public bound on |logit| (softmax 'appmax' shift, 2PC). */
  logitBound: number;
  /**
   * 3PC: shift the softmax by the row max (truncation-ReLU tournament with
   * these sign-test bits) instead: no spread bound, u <= 0, row sums in [1, K].
   */
  softmaxMaxLx?: number;
  bnNormalisation: Normalisation;
  /** Checkpoint every K batches as well as every epoch (0: epochs only). */
  checkpointEvery: number;
  /** Stop after this many epochs / batches in this invocation (checkpoint kept). */
  stopAfter?: number;
  stopAfterSteps?: number;
  revealLoss: boolean;
  runId: string;
  /** JSON of what a resume must agree on. */
  settingsKey: string;
  resume?: CheckpointPosition;
}

export interface TrainMpcOutput {
  id: number;
  epochsDone: number;
  complete: boolean;
  /** Where training stopped: completed epochs and batches of the next. */
  position: CheckpointPosition;
  steps: number;
  seconds: number;
  history: MpcCheckpointMeta['history'];
  bytesSent: number;
  bytesReceived: number;
  rounds: number;
  peakRssBytes: number;
  /** P0 (or emulated): the model was saved in out. */
  saved: boolean;
  /** Emulation: failures a real run with --trunc local would expect (sum of |x| / 2^64 over truncations); null in real runs. */
  expectedLocalTruncationFailures: number | null;
  /** Emulation: public bounds the run's values went past (a real run may diverge there); null in real runs. */
  boundExcesses: BoundExcess[] | null;
  /** Time, bytes and rounds per layer forward / backward, loss and SGD, over the whole run. */
  profile: Record<string, ProfileEntry>;
}

const MODEL_OWNER = 0;
const DATA_OWNER = 1;

/** P0's initial weights: the plaintext builder's for this seed. */
async function initialWeights(job: TrainMpcJob): Promise<SeedCnnWeights> {
  await selectBackend('cpu');
  const model = buildFromSettings(job.settings, job.imageShape, job.numClasses);
  const w = seedCnnWeightsOf(model);
  model.dispose();
  return w;
}

/** The tensors a party checkpoints: trainables, moving statistics, velocities. */
function stateTensors(job: TrainMpcJob, state: TrainState): [string, Shared][] {
  const spec = seedCnnSpec(job.shape, null);
  const refs = trainableRefs(spec, state.params);
  const out: [string, Shared][] = trainableValues(state.params, refs).map((t, i) => [refName(refs[i]!), t]);
  const bn = state.params.get('bn');
  if (bn?.movingMean && bn.movingVariance) out.push(['bn.movingMean', bn.movingMean], ['bn.movingVariance', bn.movingVariance]);
  state.velocities.forEach((v, i) => out.push([`velocity:${refName(refs[i]!)}`, v]));
  return out;
}

function restoreState(job: TrainMpcJob, params: ModelParams, saved: Map<string, Shared>, file: string): TrainState {
  const spec = seedCnnSpec(job.shape, null);
  const refs = trainableRefs(spec, params);
  const get = (name: string, like: Shared): Shared => {
    const t = saved.get(name);
    if (!t || t.shape.join() !== like.shape.join()) throw new Error(`${file}: checkpoint tensor ${name} is missing or has the wrong shape`);
    return t;
  };
  const current = trainableValues(params, refs);
  const next = withTrainable(params, refs, refs.map((r, i) => get(refName(r), current[i]!)));
  const bn = next.get('bn');
  if (bn?.movingMean && bn.movingVariance) next.set('bn', { ...bn, movingMean: get('bn.movingMean', bn.movingMean), movingVariance: get('bn.movingVariance', bn.movingVariance) });
  return { params: next, velocities: refs.map((r, i) => get(`velocity:${refName(r)}`, current[i]!)) };
}

/** Mean cross-entropy from the revealed (softmax - y) / m * y: row sums give (p_true - 1) / m. */
function lossOf(prod: Float64Array, m: number, k: number): number {
  let sum = 0;
  for (let i = 0; i < m; i++) {
    let row = 0;
    for (let j = 0; j < k; j++) row += prod[i * k + j]!;
    sum -= Math.log(Math.min(1, Math.max(1e-7, row * m + 1)));
  }
  return sum / m;
}

export async function trainMpc(ctx: Context, job: TrainMpcJob): Promise<TrainMpcOutput> {
  const t0 = performance.now();
  const s = job.settings;
  // A rehearsal (offline plan) has no owner: no data or weights read, zeros shared.
  const modelOwner = ctx.ownsInput(MODEL_OWNER);
  const dataOwner = ctx.ownsInput(DATA_OWNER);
  const party = partyTag(ctx.id, ctx.isPlain);
  const [h, w, c] = job.imageShape;
  const k = job.numClasses;
  const data = dataOwner ? loadDataset(job.dataset, { limitTrain: job.limitTrain, limitTest: job.limitTest }) : null;
  if (data && (data.train.count !== job.trainCount || data.height !== h || data.width !== w || data.channels !== c || data.numClasses !== k)) {
    throw new Error(`${job.dataset}: the data owner's split (${data.train.count} images ${data.height}x${data.width}x${data.channels}, ${data.numClasses} classes) differs from the job's`);
  }
  const spec = seedCnnSpec(job.shape, modelOwner ? await initialWeights(job) : null);
  const params = shareParams(ctx, spec);
  let state = initialState(spec, params);
  let history: MpcCheckpointMeta['history'] = [];
  let seconds = 0;
  let pos: CheckpointPosition = { epoch: 0, step: 0 };
  if (job.resume && !ctx.isRehearsal) {
    const ck = loadPartyCheckpoint(job.out, party, job.runId, job.resume);
    state = restoreState(job, state.params, ck.tensors, `${job.out} (${party})`);
    history = ck.meta.history;
    seconds = ck.meta.seconds;
    pos = job.resume;
  }
  if (job.resume && ctx.isRehearsal) pos = job.resume;
  const checkpoint = (at: CheckpointPosition, elapsed: number): void => {
    if (ctx.isRehearsal) return;
    const meta: MpcCheckpointMeta = { format: 'mpcnet-mpc-checkpoint', runId: job.runId, party, settings: job.settingsKey, ...at, history, seconds: elapsed };
    writePartyCheckpoint(job.out, meta, stateTensors(job, state).map(([name, t]) => encodeTensor(name, t)));
  };

  const before = ctx.isPlain ? null : snapshot(ctx.mesh);
  const n = job.trainCount;
  const batches = Math.ceil(n / s.batchSize);
  const opts = {
    nl: { kind: 'poly' as const },
    softmax: { shift: job.softmaxMaxLx !== undefined ? { kind: 'max' as const, lx: job.softmaxMaxLx } : { kind: 'appmax' as const, bound: job.logitBound } },
    batchNorm: { normalisation: job.bnNormalisation },
  };
  let steps = 0;
  let stopped = false;
  const tRun = performance.now();
  while (pos.epoch < s.epochs && !stopped) {
    if (job.stopAfter !== undefined && pos.epoch >= job.stopAfter) break;
    const epoch = pos.epoch;
    const lr = stepDecayLr(s.lr, s.lrSteps, s.lrGamma, epoch);
    // The plaintext trainer's permutation for this epoch; only the data owner needs it.
    const order = dataOwner ? new Rng(deriveSeed(s.seed, 1, epoch)).permutation(n) : null;
    const te = performance.now();
    let lossSum = 0;
    let lossCount = 0;
    for (let step = pos.step; step < batches; step++) {
      if (job.stopAfterSteps !== undefined && steps >= job.stopAfterSteps) { stopped = true; break; }
      const m = Math.min(s.batchSize, n - step * s.batchSize);
      let images: Float64Array | null = null;
      let labels: Float32Array | null = null;
      if (data && order) {
        const idx = order.subarray(step * s.batchSize, step * s.batchSize + m);
        images = nhwcToNchw(batchInputs(data, data.train, idx, job.normalization), m, h, w, c);
        labels = oneHot(Array.from(idx, (i) => data.train.labels[i]!), k);
      }
      // One call per (epoch, batch) under a fixed path: a resumed run draws the same
      // masks and dealer correlations for this batch as an uninterrupted one.
      const { next, prod } = await ctx.callAs('step', `${epoch}.${step}`, async (sc) => {
        const x = shareInput(sc, DATA_OWNER, images, [m, c, h, w]);
        const y = shareInput(sc, DATA_OWNER, labels, [m, k]);
        const g = await computeGradients(sc, spec, state.params, { x, y }, opts);
        const refs = trainableRefs(spec, g.params);
        const update = await sc.section('sgd', (cc) => sgdStep(cc, trainableValues(g.params, refs), trainableValues(g.grads, refs, 'gradients'), state.velocities,
          { lr, momentum: s.momentum, weightDecay: s.weightDecay }));
        const revealed = job.revealLoss ? await revealTo(sc, await mul(sc, g.dOut, y), DATA_OWNER) : null;
        return { next: { params: withTrainable(g.params, refs, update.weights), velocities: update.velocities }, prod: revealed };
      });
      state = next;
      let loss: number | undefined;
      if (prod && dataOwner) {
        loss = lossOf(prod, m, k);
        lossSum += loss * m;
        lossCount += m;
      }
      steps++;
      pos = { epoch, step: step + 1 };
      const elapsed = seconds + (performance.now() - tRun) / 1000;
      if (job.checkpointEvery > 0 && (step + 1) % job.checkpointEvery === 0 && step + 1 < batches) checkpoint(pos, elapsed);
      ctx.progress({ message: `epoch ${epoch + 1} batch ${step + 1}/${batches}`, epoch: epoch + 1, batch: step + 1, batches, ...(loss !== undefined ? { loss } : {}) });
    }
    if (stopped) break;
    history = [...history, { epoch: epoch + 1, loss: lossCount > 0 ? lossSum / lossCount : null, seconds: (performance.now() - te) / 1000 }];
    pos = { epoch: epoch + 1, step: 0 };
    checkpoint(pos, seconds + (performance.now() - tRun) / 1000);
  }
  seconds += (performance.now() - tRun) / 1000;
  const complete = pos.epoch >= s.epochs;

  let saved = false;
  if (complete) {
    // Revealed to the model owner only; the data owner and P2 learn nothing.
    const named = stateTensors(job, state).filter(([name]) => !name.startsWith('velocity:'));
    const values = new Map<string, number[]>();
    for (const [name, t] of named) values.set(name, Array.from(await revealTo(ctx, t, MODEL_OWNER)));
    if (modelOwner) {
      await saveTrained(job, values, seconds, ctx.isPlain ? 'emulated (plaintext context)' : `mpc ${ctx.mode}`);
      saved = true;
    }
  }
  const t = before ? trafficSince(before, snapshot(ctx.mesh)) : null;
  return {
    id: ctx.id, epochsDone: pos.epoch, complete, position: pos, steps, seconds: (performance.now() - t0) / 1000, history,
    bytesSent: t?.bytesSent ?? 0, bytesReceived: t?.bytesReceived ?? 0, rounds: t?.rounds ?? 0,
    peakRssBytes: process.resourceUsage().maxRSS * 1024, saved, profile: ctx.profile(),
    expectedLocalTruncationFailures: ctx.isPlain ? ctx.localTruncationFailures : null,
    boundExcesses: ctx.isPlain ? ctx.boundExcesses : null,
  };
}

/** The plaintext builder's model with the revealed weights, saved with its manifest (test accuracy filled in by the launcher). */
async function saveTrained(job: TrainMpcJob, v: Map<string, number[]>, seconds: number, backend: string): Promise<void> {
  await selectBackend('cpu');
  const s = job.settings;
  const model = buildFromSettings(s, job.imageShape, job.numClasses);
  const get = (name: string): number[] => {
    const x = v.get(name);
    if (!x) throw new Error(`trained weights: ${name} is missing`);
    return x;
  };
  const rows = job.shape.perChannel ? job.shape.filters : 1;
  const weights: SeedCnnWeights = {
    conv: get('conv.weight'), dense: get('logits.weight'), denseBias: get('logits.bias'),
    // A fixed polynomial has no act.cK: the builder's layer already holds its public coefficients.
    coefficients: job.shape.fixed ? [] : Array.from({ length: rows }, (_, ch) => Array.from({ length: job.shape.degree + 1 }, (_, kk) => get(`act.c${kk}`)[ch]!)),
  };
  if (job.shape.bn) Object.assign(weights, { gamma: get('bn.gamma'), beta: get('bn.beta'), movingMean: get('bn.movingMean'), movingVariance: get('bn.movingVariance') });
  else weights.convBias = get('conv.bias');
  setSeedCnnWeights(model, weights);
  await saveModel(model, job.out);
  const data = { spec: job.dataset, kind: job.dataset.split(':')[0]!, height: job.imageShape[0], width: job.imageShape[1], channels: job.imageShape[2], numClasses: job.numClasses };
  const manifest: BackboneManifest = {
    format: MANIFEST_FORMAT, version: 1, createdAt: new Date().toISOString(),
    dataset: { ...data, trainCount: job.trainCount, testCount: 0, split: 'train' },
    normalization: job.normalization,
    model: { name: s.model, parameters: parameterCount(model), file: MODEL_FILE, weights: WEIGHTS_FILE },
    activation: s.activation,
    training: { ...s, backend, backendDetail: `secret-shared training (${backend})`, seconds },
    metrics: { testAccuracy: 0, testCount: 0, finalTrainLoss: NaN, epochs: [] },
  };
  writeManifest(job.out, manifest);
  model.dispose();
}

/** Structural checks; the launcher (src/cli/train-mpc.ts) builds the job and checks the values. */
export function parseTrainMpcJob(o: Record<string, unknown>): TrainMpcJob {
  for (const f of ['out', 'dataset', 'runId', 'settingsKey'] as const) if (typeof o[f] !== 'string') throw new TypeError(`job: train-mpc '${f}' must be a string`);
  for (const f of ['shape', 'settings', 'normalization'] as const) if (typeof o[f] !== 'object' || o[f] === null) throw new TypeError(`job: train-mpc '${f}' must be an object`);
  for (const f of ['trainCount', 'numClasses', 'logitBound', 'checkpointEvery'] as const) if (typeof o[f] !== 'number' || !Number.isFinite(o[f])) throw new TypeError(`job: train-mpc '${f}' must be a number`);
  if (o['bnNormalisation'] !== 'public' && o['bnNormalisation'] !== 'private') throw new TypeError(`job: train-mpc bnNormalisation must be 'public' or 'private'`);
  return o as unknown as TrainMpcJob;
}
