/**
 * `mpcnet train --mpc`: launcher side. Checks every flag before any process
 * starts, builds the 'train-mpc' job (src/jobs/train-mpc.ts), runs it in
 * real party processes through the shared launcher (or, with --emulate, in
 * the plaintext context), shows a progress bar per batch, and finally
 * measures the saved model's test accuracy into its manifest. The launcher
 * stands for both owners on this machine: it reads the data set's public
 * facts (size, shape, input normalisation) and, after training, the model
 * P0 saved, as `mpcnet eval` would.
 */
import { transportNote, transportOf } from './transport-option.js';
import cliProgress from 'cli-progress';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadDataset, type ImageDataset } from '../data/index.js';
import { measureNormalization } from '../data/normalization.js';
import { trainMpc, type TrainMpcJob, type TrainMpcOutput } from '../jobs/train-mpc.js';
import { checkpointState, partyTag, resumePoint, setAsideIncomplete } from '../jobs/train-mpc-checkpoint.js';
import { parseJob, runJob } from '../jobs/index.js';
import { Context, sectionSeconds, type BoundExcess, type TruncationMode } from '../mpc/context.js';
import { runSession, type LaunchOptions } from '../mpc/launcher.js';
import { readPlanSummary, type PlanJob, type PlanSummary } from '../mpc/offline-plan.js';
import { planByRehearsal } from '../mpc/plan-rehearsal.js';
import { offlinePlanFigures, offlinePlanFor, type OfflinePlanFigures } from './offline-option.js';
import { seedCnnShapeOf } from '../nn/train/tfjs-seed-cnn.js';
import { describeActivation, type ActivationSpec } from '../plain/activations/index.js';
import { selectBackend } from '../plain/backend.js';
import { evaluateAccuracy } from '../plain/evaluate.js';
import { readManifest, writeManifest, type TrainSettings } from '../plain/manifest.js';
import { loadModel } from '../plain/model-io.js';
import { buildFromSettings } from '../plain/models/index.js';
import { stepDecayLr } from '../plain/sgd.js';
import { checkSessionFracBits } from '../ring/fixed.js';
import type { TrainReport } from './train.js';

/** Sign-test bits of the 3PC softmax's row max: spreads up to 2^(16/2) = 256. */
const SOFTMAX_MAX_LX = 16;

export interface TrainMpcArgs {
  parties: number;
  emulate: boolean;
  /** Batch norm in the seed CNN; must agree with the settings' batchNorm (`--no-bn` sets both). */
  bn: boolean;
  fracBits: number;
  logitBound: number;
  bnVarRange: string;
  checkpointEvery: number;
  stopAfterSteps?: number;
  revealLoss: boolean;
  /**
   * Truncation protocol: 'dealer' (default; exact below 2^62) or 'local'
   * (free, but an epoch of the seed CNN expects ~0.5 wraps, each one
   * ruining the weights; the emulation counts them: expectedWraps).
   */
  trunc: TruncationMode;
  /** Plain ws instead of TLS (loopback benchmarks; the log says so). */
  plainWs?: boolean;
  /** Offline phase: rehearse this run and write its plan into this folder; nothing is trained. */
  planOut?: string;
  /** Take the correlations from this plan (made by --plan-out for this run); no dealer work online. */
  offline?: string;
}

/** `train --mpc`'s defaults for the protocol flags (the command line's and the experiments'). */
export const TRAIN_MPC_DEFAULTS = {
  parties: 2, fracBits: 16, logitBound: 64, bnVarRange: '0.25,16', checkpointEvery: 0, revealLoss: false, trunc: 'dealer',
} as const satisfies Partial<TrainMpcArgs>;

/** The plaintext report's fields, with the MPC run's traffic and profile. */
export interface TrainMpcReport extends Omit<TrainReport, 'testAccuracy' | 'testCount' | 'seconds' | 'epochs'> {
  /** Test accuracy of the saved model (null when training stopped early). */
  testAccuracy: number | null;
  testCount: number;
  /** Wall seconds of this invocation (processes started to results collected). */
  seconds: number;
  parties: number | 'emulated';
  perParty: { id: number; bytesSent: number; bytesReceived: number; rounds: number; peakRssBytes: number }[];
  epochs: TrainMpcOutput['history'];
  /** Emulation only: expected failures of local truncation over the run (sum of |x| / 2^64); null for real runs. */
  expectedLocalTruncationFailures: number | null;
  /** Emulation only: public bounds the values went past (raise them before a real run); null for real runs. */
  boundExcesses: BoundExcess[] | null;
  /**
   * Per section (layer forward, layer/backward, loss/backward, sgd; protocol
   * calls too, nested ones counted in each enclosing section): calls, the
   * slowest holder's seconds (P2's include waiting: sectionSeconds), P0's bytes sent + received, critical-path rounds.
   */
  profile: { section: string; calls: number; seconds: number; bytes: number; rounds: number }[];
  /** --offline: the plan's offline figures, and what P2 dealt online (nothing). */
  offlinePlan?: OfflinePlanFigures;
}

function profileRows(outs: TrainMpcOutput[]): TrainMpcReport['profile'] {
  const names = [...new Set(outs.flatMap((o) => Object.keys(o.profile ?? {})))];
  return names.map((section) => {
    const e = outs.map((o) => o.profile?.[section]);
    return {
      section, calls: e[0]?.calls ?? 0, seconds: sectionSeconds(outs.map((o, i) => ({ id: o.id, entry: e[i] }))),
      bytes: (e[0]?.bytesSent ?? 0) + (e[0]?.bytesReceived ?? 0), rounds: Math.max(0, ...e.map((x) => x?.rounds ?? 0)),
    };
  });
}

/** Flags --mpc does not combine with, as one line each. */
export function checkMpcFlags(o: { model: string; act: ActivationSpec; mixup: boolean; ngnv?: string; seeds?: string; parties: number; stopAfter?: number }): void {
  if (o.mixup) throw new Error('--mpc does not support --mixup (the soft labels would be shared too; not implemented)');
  if (o.ngnv !== undefined) throw new Error('--mpc does not support --ngnv (NGNV-ReLU is a plaintext training perturbation)');
  if (o.seeds !== undefined) throw new Error('--mpc trains one seed per run: drop --seeds');
  if (o.model !== 'cnn') throw new Error(`--mpc trains the seed CNN only: use --model cnn, not ${o.model}`);
  if (o.act.kind !== 'ppoly' && o.act.kind !== 'polynomial') {
    throw new Error(`--mpc needs a PPoly activation or a fixed polynomial (--act ppoly[...], poly:c0,c1,... or fit:FN:METHOD): ${describeActivation(o.act)} has no MPC backward pass here${o.parties === 2 ? ' (and ReLU needs 3 parties)' : ''}`);
  }
  if (o.act.coefficients.length < 2) throw new Error(`--mpc: the activation ${describeActivation(o.act)} is a constant (degree 0): give at least c0,c1`);
  if (o.parties !== 2 && o.parties !== 3) throw new Error(`--parties must be 2 or 3, got ${o.parties}`);
}

function parseRange(text: string): { min: number; max: number } {
  const [min, max] = text.split(',').map(Number);
  if (!(min! > 0) || !(max! > min!) || !Number.isFinite(max)) throw new Error(`--bn-var-range "${text}": expected min,max with 0 < min < max`);
  return { min: min!, max: max! };
}

function batchBar(enabled: boolean): { start(total: number, label: string): void; update(done: number, loss?: number): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { start() {}, update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    format: '{label} [{bar}] {value}/{total} batches | loss {loss} | eta {eta_formatted}',
    stream: process.stderr, clearOnComplete: true, hideCursor: true, etaBuffer: 10,
  }, cliProgress.Presets.shades_classic);
  let on = false;
  return {
    start: (total, label) => { if (on) bar.stop(); bar.start(total, 0, { label, loss: '-' }); on = true; },
    update: (done, loss) => bar.update(done, loss === undefined ? {} : { loss: loss.toFixed(4) }),
    stop: () => { if (on) bar.stop(); on = false; },
  };
}

export interface TrainMpcRun {
  settings: TrainSettings;
  dataset: string;
  limitTrain?: number;
  limitTest?: number;
  out?: string;
  resume: boolean;
  stopAfter?: number;
  /** A fresh run's id, when given (--offline: the plan's); else a new one. */
  runId?: string;
}

export interface PreparedTrainMpc {
  job: TrainMpcJob;
  mode: 'plain' | '2pc' | '3pc';
  dataset: ImageDataset;
  out: string;
}

/** Every check and the job, before any process starts (resume point included). */
export async function prepareTrainMpc(r: TrainMpcRun, a: TrainMpcArgs, log: (line: string) => void): Promise<PreparedTrainMpc> {
  checkSessionFracBits(a.fracBits, '--frac-bits');
  if (!(a.logitBound > 0)) throw new Error(`--logit-bound must be > 0, got ${a.logitBound}`);
  if (!Number.isInteger(a.checkpointEvery) || a.checkpointEvery < 0) throw new Error(`--checkpoint-every must be an integer >= 0, got ${a.checkpointEvery}`);
  const varianceRange = parseRange(a.bnVarRange);
  const s = r.settings;
  if (a.bn !== (s.batchNorm ?? true)) throw new Error(`train --mpc: bn ${a.bn} disagrees with the settings' batchNorm ${String(s.batchNorm)}`);
  const d = loadDataset(r.dataset, { limitTrain: r.limitTrain, limitTest: r.limitTest });
  const out = path.resolve(r.out ?? path.join('out', `${s.model}-${d.kind}-mpc`));
  const mode = a.emulate ? 'plain' : a.parties === 3 ? '3pc' : '2pc';
  await selectBackend('cpu');
  const imageShape: [number, number, number] = [d.height, d.width, d.channels];
  const probe = buildFromSettings(s, imageShape, d.numClasses);
  const shape = seedCnnShapeOf(probe, varianceRange);
  probe.dispose();
  const { epochs: _e, ...kept } = s;
  const settingsKey = JSON.stringify({ ...kept, mode, parties: a.parties, dataset: d.spec, trainCount: d.train.count, fracBits: a.fracBits, logitBound: a.logitBound, varianceRange });
  const parties = mode === 'plain' ? [partyTag(0, true)] : (mode === '3pc' ? [0, 1, 2] : [0, 1]).map((i) => partyTag(i, false));
  let runId: string = r.runId ?? randomUUID();
  let resume: TrainMpcJob['resume'];
  if (r.resume) {
    const at = resumePoint(out, parties, settingsKey);
    runId = at.runId;
    resume = { epoch: at.epoch, step: at.step };
    log(`resuming run ${runId} from ${out} at epoch ${at.epoch}, batch ${at.step}`);
  }
  const existing = r.resume ? undefined : checkpointState(out);
  if (existing?.kind === 'present') {
    throw new Error(`${out} already holds an MPC checkpoint: pass --resume to continue it, or choose another --out (it is never overwritten by a new run)`);
  }
  const job = parseJob({
    kind: 'train-mpc', out, dataset: d.spec, ...(r.limitTrain !== undefined ? { limitTrain: r.limitTrain } : {}), ...(r.limitTest !== undefined ? { limitTest: r.limitTest } : {}),
    trainCount: d.train.count, imageShape, numClasses: d.numClasses, shape, settings: s,
    normalization: measureNormalization(d.train, d.channels), logitBound: a.logitBound,
    // --emulate runs the job of the chosen party count: the same protocol choices.
    bnNormalisation: a.parties === 3 ? 'private' : 'public', checkpointEvery: a.checkpointEvery,
    // 3PC has the truncation ReLU, so the softmax takes the row max: no public spread bound (2^(lx/2) = 256 > any spread seen).
    ...(a.parties === 3 ? { softmaxMaxLx: SOFTMAX_MAX_LX } : {}),
    ...(r.stopAfter !== undefined ? { stopAfter: r.stopAfter } : {}), ...(a.stopAfterSteps !== undefined ? { stopAfterSteps: a.stopAfterSteps } : {}),
    revealLoss: a.revealLoss, runId, settingsKey, ...(resume ? { resume } : {}),
  } satisfies TrainMpcJob) as TrainMpcJob;
  // Last, once every check has passed: nothing is moved for a run that would not start.
  if (existing?.kind === 'incomplete') log(setAsideIncomplete(existing));
  log(`${s.model} on ${d.spec} (${d.train.count} train, ${d.test.count} test) under ${mode === 'plain' ? 'emulation (plaintext context)' : `${a.parties}-party MPC`}, ` +
    `${describeActivation(s.activation)}, ${s.epochs} epochs, batch ${s.batchSize}, lr ${s.lr}, momentum ${s.momentum}, wd ${s.weightDecay}, seed ${s.seed}, f = ${a.fracBits} -> ${out}`);

  return { job, mode, dataset: d, out };
}

/**
 * The offline phase of this run (--plan-out): the job as the run will build
 * it, rehearsed on zero inputs (no data or weights read; no checkpoint
 * written) to find its requests, and the plan generated. The plan keeps the
 * job's run id, so `--offline` makes the same job. A plan covers the steps
 * this invocation runs: bound them with --stop-after-steps (an epoch of the
 * seed CNN is several GB of corrections).
 */
export async function planTrainMpc(r: TrainMpcRun, a: TrainMpcArgs, log: (line: string) => void): Promise<PlanSummary> {
  if (a.emulate) throw new Error('--plan-out is for real parties: drop --emulate');
  const { job, mode } = await prepareTrainMpc(r, a, log);
  if (mode === 'plain') throw new Error('unreachable: a plan is for 2 or 3 parties');
  const planJob: PlanJob = { mode, fracBits: a.fracBits, truncation: a.trunc, job };
  const s = await planByRehearsal(path.resolve(a.planOut ?? 'plan'), planJob, runJob);
  log(`offline plan ${s.planId}: ${s.entries} correlations, rehearsed in ${(s.rehearsalSeconds ?? 0).toFixed(1)} s, generated in ${s.seconds.toFixed(1)} s: P0.plan ${(s.bytes.P0 / 1e6).toFixed(1)} MB, P1.plan ${(s.bytes.P1 / 1e6).toFixed(2)} MB in ${path.resolve(a.planOut ?? 'plan')}`);
  return s;
}

/** --offline: the plan's run id for a fresh run (a resumed run has its checkpoint's, which the plan was made with). */
function offlineRunId(r: TrainMpcRun, a: TrainMpcArgs): string | undefined {
  if (a.offline === undefined || r.resume) return undefined;
  const made = readPlanSummary(path.resolve(a.offline)).job?.job as Partial<TrainMpcJob> | undefined;
  if (made?.kind !== 'train-mpc' || typeof made.runId !== 'string') throw new Error(`--offline ${a.offline}: not a plan of train --mpc (make one with train --mpc ... --plan-out DIR)`);
  return made.runId;
}

export async function trainMpcRun(r: TrainMpcRun, a: TrainMpcArgs, log: (line: string) => void, progress: boolean): Promise<TrainMpcReport> {
  if (a.offline !== undefined && a.emulate) throw new Error('--offline runs real parties: drop --emulate');
  const runId = offlineRunId(r, a);
  const { job, mode, dataset: d, out } = await prepareTrainMpc(runId === undefined ? r : { ...r, runId }, a, log);
  const s = r.settings;
  const batches = Math.ceil(d.train.count / s.batchSize);
  const bar = batchBar(progress);
  let epochShown = 0;
  const onEvent = (e: Record<string, unknown>): void => {
    const epoch = Number(e['epoch'] ?? 0);
    if (epoch !== epochShown) { bar.start(batches, `epoch ${epoch}/${s.epochs}`); epochShown = epoch; }
    bar.update(Number(e['batch'] ?? 0), typeof e['loss'] === 'number' ? e['loss'] : undefined);
  };
  const t0 = performance.now();
  let outs: TrainMpcOutput[];
  let offline: TrainMpcReport['offlinePlan'];
  try {
    if (mode === 'plain') {
      outs = [await trainMpc(Context.plain({ fracBits: a.fracBits, plainRounding: 'nearest', onProgress: onEvent }), job)];
    } else {
      // The loss is revealed to the data owner only: its progress events drive the bar.
      const transport = transportOf(a);
      log(transportNote(transport));
      const session: LaunchOptions = { mode, transport, fracBits: a.fracBits, truncation: a.trunc, job, timeoutMs: 6 * 3600_000, onProgress: (id, e) => { if (id === 1) onEvent(e); } };
      const plan = a.offline !== undefined ? offlinePlanFor(a.offline, session) : null;
      if (plan) session.offlinePlan = plan.ref;
      const run = await runSession(session);
      if (plan) offline = offlinePlanFigures(plan.summary, run.parties[2]?.dealer?.correlations ?? 0);
      outs = run.parties.filter((p) => p.output !== null && p.output !== undefined).map((p) => p.output as TrainMpcOutput);
    }
  } finally {
    bar.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  const head = outs[0]!;
  if (head.expectedLocalTruncationFailures !== null) {
    log(`truncation risk: a real run with --trunc local would expect ${head.expectedLocalTruncationFailures.toPrecision(2)} share-truncation failures (each ruins the weights); --trunc dealer has none`);
  }
  for (const b of head.boundExcesses ?? []) {
    log(`bound exceeded: ${b.what}: values reached [${b.min.toPrecision(3)}, ${b.max.toPrecision(3)}], ${b.outside} outside [${b.lo}, ${b.hi}]; a real run may diverge there: widen the bound`);
  }
  let testAccuracy: number | null = null;
  if (head.complete) {
    // P0 saved the model; evaluate it as `mpcnet eval` would and record the result.
    const model = await loadModel(out);
    const manifest = readManifest(out);
    const acc = await evaluateAccuracy(model, d, d.test, manifest.normalization);
    model.dispose();
    testAccuracy = acc.accuracy;
    const dataOwner = outs.find((o) => o.id === 1) ?? head;
    const history = dataOwner.history;
    const last = history[history.length - 1];
    manifest.dataset = { ...manifest.dataset, kind: d.kind, testCount: d.test.count, split: d.split };
    manifest.training.seconds = dataOwner.seconds;
    manifest.metrics = {
      testAccuracy: acc.accuracy, testCount: acc.n, finalTrainLoss: last?.loss ?? NaN,
      epochs: history.map((h) => ({ epoch: h.epoch, lr: stepDecayLr(s.lr, s.lrSteps, s.lrGamma, h.epoch - 1), trainLoss: h.loss ?? NaN, testAccuracy: h.epoch === head.epochsDone ? acc.accuracy : NaN, seconds: h.seconds, imagesPerSecond: d.train.count / h.seconds })),
    };
    writeManifest(out, manifest);
    log(`trained ${mode === 'plain' ? 'in emulation' : `under ${mode}`}: test accuracy ${(acc.accuracy * 100).toFixed(2)}% of ${acc.n}, ${seconds.toFixed(1)} s; model revealed to P0 only, saved in ${out}`);
  } else {
    log(`stopped at epoch ${head.position.epoch}, batch ${head.position.step}: checkpoints in ${path.join(out, 'mpc-checkpoint')} (continue with --resume)`);
  }
  return {
    out, backend: mode === 'plain' ? 'emulated' : `mpc-${mode}`, model: s.model, dataset: d.spec, activation: s.activation,
    epochsDone: head.epochsDone, complete: head.complete, testAccuracy, testCount: d.test.count, seconds,
    parties: mode === 'plain' ? 'emulated' : a.parties,
    perParty: outs.map((o) => ({ id: o.id, bytesSent: o.bytesSent, bytesReceived: o.bytesReceived, rounds: o.rounds, peakRssBytes: o.peakRssBytes })),
    epochs: (outs.find((o) => o.id === 1) ?? head).history,
    profile: profileRows(outs),
    expectedLocalTruncationFailures: head.expectedLocalTruncationFailures,
    boundExcesses: head.boundExcesses,
    ...(offline ? { offlinePlan: offline } : {}),
  };
}
