/**
 * `mpcnet train`: train a plaintext backbone with tfjs and save it with its
 * manifest; with --mpc, the seed CNN under secret sharing (src/cli/train-mpc.ts).
 */
import path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadDataset } from '../data/index.js';
import { describeActivation, parseActivation, parseNgnv, type ActivationSpec } from '../plain/activations/index.js';
import { BACKEND_NAMES, describeBackend, selectBackend, type BackendName } from '../plain/backend.js';
import type { TrainSettings } from '../plain/manifest.js';
import { MIXUP_ALPHA } from '../plain/mixup.js';
import { checkModelName, modelDefaults } from '../plain/models/index.js';
import { runJobs } from '../plain/parallel.js';
import { defaultLrSteps } from '../plain/sgd.js';
import { checkSettings, train } from '../plain/train.js';
import { checkMpcFlags, planTrainMpc, TRAIN_MPC_DEFAULTS, trainMpcRun, type TrainMpcArgs, type TrainMpcReport, type TrainMpcRun } from './train-mpc.js';
import type { PlanSummary } from '../mpc/offline-plan.js';

/** The --mpc flags are optional: other callers (demo, bench) train in plaintext. */
interface Args extends Partial<TrainMpcArgs> {
  mpc?: boolean;
  model: string;
  dataset: string;
  epochs: number;
  batchSize?: number;
  lr?: number;
  lrSteps?: string;
  lrGamma: number;
  momentum: number;
  wd: number;
  mixup: boolean;
  mixupAlpha: number;
  ngnv?: string;
  act: string;
  seed: number;
  out?: string;
  resume: boolean;
  stopAfter?: number;
  backend: BackendName | 'auto';
  limitTrain?: number;
  limitTest?: number;
  seeds?: string;
  jobs?: number;
  progress: boolean;
  json: boolean;
}

export interface TrainReport {
  out: string;
  backend: string;
  model: string;
  dataset: string;
  activation: ActivationSpec;
  epochsDone: number;
  complete: boolean;
  testAccuracy: number;
  testCount: number;
  seconds: number;
  epochs: { epoch: number; lr: number; trainLoss: number; testAccuracy: number; seconds: number; imagesPerSecond: number }[];
}

function parseSteps(text: string | undefined, epochs: number): number[] {
  if (text === undefined) return defaultLrSteps(epochs);
  if (text.trim() === '') return [];
  return text.split(',').map((t) => {
    const e = Number(t.trim());
    if (!Number.isInteger(e) || e < 0) throw new Error(`--lr-steps "${text}": expected comma-separated epoch numbers`);
    return e;
  });
}

/** The MPC-only flags, when given without --mpc. */
function mpcOnly(a: Partial<Args>): string[] {
  const given: string[] = [];
  if (a.parties !== undefined) given.push('--parties');
  if (a.emulate) given.push('--emulate');
  if (a.revealLoss) given.push('--reveal-loss');
  if (a.checkpointEvery) given.push('--checkpoint-every');
  if (a.stopAfterSteps !== undefined) given.push('--stop-after-steps');
  if (a.plainWs) given.push('--plain-ws');
  if (a.planOut !== undefined) given.push('--plan-out');
  if (a.offline !== undefined) given.push('--offline');
  return given;
}

function trainSettings(a: Omit<Args, 'json'>, activation: ActivationSpec): TrainSettings {
  const defaults = modelDefaults(a.model);
  if (a.bn === false && a.model !== 'cnn') throw new Error(`--no-bn: only the seed CNN (--model cnn) has a form without batch norm, not ${a.model}`);
  return {
    model: a.model,
    activation,
    epochs: a.epochs,
    batchSize: a.batchSize ?? defaults.batchSize,
    lr: a.lr ?? defaults.lr,
    lrSteps: parseSteps(a.lrSteps, a.epochs),
    lrGamma: a.lrGamma,
    momentum: a.momentum,
    weightDecay: a.wd,
    mixup: a.mixup,
    mixupAlpha: a.mixupAlpha,
    seed: a.seed,
    // Only when off: runs with batch norm keep the settings (and checkpoints) they always had.
    ...(a.bn === false ? { batchNorm: false } : {}),
  };
}

/** The run and protocol settings of `train --mpc` from the command line, checked. */
function mpcRunOf(a: Omit<Args, 'json'>): { run: TrainMpcRun; m: TrainMpcArgs } {
  checkModelName(a.model);
  const activation = parseActivation(a.act);
  const m: TrainMpcArgs = {
    emulate: a.emulate ?? false, bn: a.bn ?? true,
    parties: a.parties ?? TRAIN_MPC_DEFAULTS.parties, fracBits: a.fracBits ?? TRAIN_MPC_DEFAULTS.fracBits, logitBound: a.logitBound ?? TRAIN_MPC_DEFAULTS.logitBound,
    bnVarRange: a.bnVarRange ?? TRAIN_MPC_DEFAULTS.bnVarRange, checkpointEvery: a.checkpointEvery ?? TRAIN_MPC_DEFAULTS.checkpointEvery,
    revealLoss: a.revealLoss ?? TRAIN_MPC_DEFAULTS.revealLoss, trunc: a.trunc ?? TRAIN_MPC_DEFAULTS.trunc, plainWs: a.plainWs ?? false,
    ...(a.stopAfterSteps !== undefined ? { stopAfterSteps: a.stopAfterSteps } : {}),
    ...(a.planOut !== undefined ? { planOut: a.planOut } : {}),
    ...(a.offline !== undefined ? { offline: a.offline } : {}),
  };
  if (m.planOut !== undefined && m.offline !== undefined) throw new Error('--plan-out and --offline exclude each other: make the plan first, then run with it');
  checkMpcFlags({ model: a.model, act: activation, mixup: a.mixup, ngnv: a.ngnv, seeds: a.seeds, parties: m.parties });
  const settings = trainSettings(a, activation);
  checkSettings(settings);
  return { run: { settings, dataset: a.dataset, limitTrain: a.limitTrain, limitTest: a.limitTest, out: a.out, resume: a.resume, stopAfter: a.stopAfter }, m };
}

/** `train --mpc`: the seed CNN trained under secret sharing (src/cli/train-mpc.ts). */
export async function trainMpcFromArgs(a: Omit<Args, 'json'>, log: (line: string) => void, progress: boolean): Promise<TrainMpcReport> {
  const { run, m } = mpcRunOf(a);
  if (m.planOut !== undefined) throw new Error('--plan-out makes a plan and trains nothing (mpcnet train --mpc ... --plan-out DIR)');
  return trainMpcRun(run, m, log, progress);
}

/** `train --mpc ... --plan-out DIR`: the offline phase of that run. */
export async function trainMpcPlanFromArgs(a: Omit<Args, 'json'>, log: (line: string) => void): Promise<PlanSummary> {
  const { run, m } = mpcRunOf(a);
  return planTrainMpc(run, m, log);
}

export async function trainFromArgs(a: Omit<Args, 'json'>, log: (line: string) => void, progress: boolean): Promise<TrainReport> {
  checkModelName(a.model);
  const extra = mpcOnly(a);
  if (extra.length) throw new Error(`${extra.join(', ')} ${extra.length > 1 ? 'need' : 'needs'} --mpc`);
  const activation = a.ngnv !== undefined ? parseNgnv(a.ngnv) : parseActivation(a.act);
  if (a.ngnv !== undefined && a.act !== 'relu') throw new Error('--ngnv perturbs ReLU: it cannot be combined with --act other than relu');
  const backend = await selectBackend(a.backend);
  log(`backend: ${describeBackend(backend)}`);
  const dataset = loadDataset(a.dataset, { limitTrain: a.limitTrain, limitTest: a.limitTest });
  const settings = trainSettings(a, activation);
  const out = a.out ?? path.join('out', `${a.model}-${dataset.kind}`);
  log(`${a.model} on ${dataset.spec} (${dataset.train.count} train, ${dataset.test.count} test, ${dataset.height}x${dataset.width}x${dataset.channels}), ` +
    `${describeActivation(activation)}, ${a.epochs} epochs, batch ${settings.batchSize}, lr ${settings.lr} x${a.lrGamma} at [${settings.lrSteps.join(', ')}], ` +
    `momentum ${a.momentum}, wd ${a.wd}${a.mixup ? `, mixup Beta(${a.mixupAlpha}, ${a.mixupAlpha})` : ''}, seed ${a.seed} -> ${out}`);
  const r = await train({ dataset, settings, backend, outDir: out, resume: a.resume, stopAfter: a.stopAfter, progress, log });
  return {
    out,
    backend: backend.name,
    model: a.model,
    dataset: dataset.spec,
    activation,
    epochsDone: r.epochsDone,
    complete: r.complete,
    testAccuracy: r.manifest.metrics.testAccuracy,
    testCount: r.manifest.metrics.testCount,
    seconds: r.manifest.training.seconds,
    epochs: r.manifest.metrics.epochs,
  };
}

export interface SeedsReport {
  seeds: number[];
  runs: ({ seed: number } & (TrainReport | { error: string }))[];
  meanAccuracy: number;
  stdAccuracy: number;
}

/** The same training options as a command line, for one worker process. */
function childArgs(a: Omit<Args, 'json'>, seed: number, out: string): string[] {
  const args = ['train', '--model', a.model, '--dataset', a.dataset, '--epochs', String(a.epochs), '--seed', String(seed), '--out', out,
    '--lr-gamma', String(a.lrGamma), '--momentum', String(a.momentum), '--wd', String(a.wd), '--mixup-alpha', String(a.mixupAlpha),
    '--act', a.act, '--backend', a.backend, '--progress', 'false'];
  const opt = (name: string, v: number | string | undefined): void => void (v !== undefined && args.push(`--${name}`, String(v)));
  opt('batch-size', a.batchSize);
  opt('lr', a.lr);
  opt('lr-steps', a.lrSteps);
  opt('ngnv', a.ngnv);
  opt('stop-after', a.stopAfter);
  opt('limit-train', a.limitTrain);
  opt('limit-test', a.limitTest);
  if (a.mixup) args.push('--mixup');
  if (a.bn === false) args.push('--no-bn');
  if (a.resume) args.push('--resume');
  return args;
}

/**
 * One training run per seed, each in its own process (the wasm backend uses
 * one thread per process), `jobs` at a time, into OUT/seed-S.
 */
export async function trainSeeds(a: Omit<Args, 'json'>, log: (line: string) => void): Promise<SeedsReport> {
  checkModelName(a.model);
  const seeds = (a.seeds ?? '').split(',').map((t) => Number(t.trim()));
  if (seeds.length === 0 || seeds.some((v) => !Number.isInteger(v))) throw new Error(`--seeds "${a.seeds}": expected comma-separated integers`);
  const base = a.out ?? path.join('out', `${a.model}-${a.dataset.split(':')[0]}`);
  const results = await runJobs<TrainReport>(seeds.map((seed) => childArgs(a, seed, path.join(base, `seed-${seed}`))), a.jobs,
    (i, line) => log(`[seed ${seeds[i]}] ${line}`));
  const runs = results.map((r, i) => ({ seed: seeds[i]!, ...(r.ok ? r.report! : { error: r.error ?? 'failed' }) }));
  const acc = results.filter((r) => r.ok).map((r) => r.report!.testAccuracy);
  const mean = acc.reduce((x, y) => x + y, 0) / Math.max(acc.length, 1);
  const std = Math.sqrt(acc.reduce((x, y) => x + (y - mean) ** 2, 0) / Math.max(acc.length, 1));
  const failed = results.filter((r) => !r.ok);
  if (failed.length) throw new Error(`${failed.length} of ${seeds.length} seed runs failed: ${failed.map((f) => f.error).join('; ')}`);
  return { seeds, runs, meanAccuracy: mean, stdAccuracy: std };
}

export const trainCommand: CommandModule<object, Args> = {
  command: 'train',
  describe: 'Train a backbone (tfjs; with --mpc the seed CNN under secret sharing) and save model.json, weights.bin and manifest.json',
  builder: (y: Argv) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'cnn | resnet20 | resnet32 | resnet44 | resnet56 | vgg' })
      .option('dataset', { type: 'string', default: 'mnist', describe: 'mnist (embedded) | idx:DIR | cifar10:DIR' })
      .option('epochs', { type: 'number', demandOption: true, describe: 'training epochs' })
      .option('batch-size', { type: 'number', alias: 'batch', describe: 'default: 32 for cnn, 128 for the others' })
      .option('lr', { type: 'number', describe: 'initial learning rate; default: 0.02 for cnn, 0.1 (the seed\'s) for the others' })
      .option('lr-steps', { type: 'string', describe: 'epochs (0-based) where the rate is multiplied by --lr-gamma; default: 50% and 75% of --epochs' })
      .option('lr-gamma', { type: 'number', default: 0.1 })
      .option('momentum', { type: 'number', default: 0.9 })
      .option('wd', { type: 'number', default: 0, describe: 'L2 weight decay (the seed compares 0, 1e-4, 5e-4)' })
      .option('mixup', { type: 'boolean', default: false, describe: 'Mixup with lambda ~ Beta(alpha, alpha)' })
      .option('mixup-alpha', { type: 'number', default: MIXUP_ALPHA })
      .option('ngnv', { type: 'string', describe: 'NGNV-ReLU in training: r,lambda[,sign] (e.g. 0.3,0.05)' })
      .option('act', {
        type: 'string', default: 'relu',
        describe: 'relu | leaky[:alpha] | poly:c0,c1,.. (fixed polynomial) | fit:FN:METHOD[:dD] (fixed polynomial: FN leaky-relu|swish|tanh|relu|sigmoid '
          + 'fitted by METHOD, degree D (default 3): lstsq on N(0, 1.2^2), taylor at 0 (Leaky ReLU/ReLU: SciPy\'s estimate from [-1, 1]), chebyshev (first-kind nodes) '
          + 'or lagrange (equidistant points) on [-4, 4]) | ppoly[:dD][:channel] (learnable, from the least-squares Leaky ReLU fit on N(0, 1.2^2), degree D, default 3) | ppoly:c0,c1,..[:channel]',
      })
      .option('seed', { type: 'number', default: 1 })
      .option('out', { type: 'string', describe: 'output directory (default out/MODEL-DATASET)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue from the checkpoint in --out' })
      .option('stop-after', { type: 'number', describe: 'stop after this many epochs, keeping the checkpoint for --resume' })
      .option('backend', { type: 'string', choices: ['auto', ...BACKEND_NAMES], default: 'auto' as const, describe: 'tfjs backend (auto: best available)' })
      .option('limit-train', { type: 'number', describe: 'use N training images, spread over the split (quick runs)' })
      .option('limit-test', { type: 'number', describe: 'use N test images, spread over the split' })
      .option('seeds', { type: 'string', describe: 'train once per seed (comma-separated), each in its own process, into OUT/seed-S' })
      .option('jobs', { type: 'number', describe: 'with --seeds: processes at a time (default: one per core)' })
      .option('progress', { type: 'boolean', default: true, describe: 'progress bar on stderr when it is a terminal' })
      .option('json', { type: 'boolean', default: false, describe: 'print a JSON report on stdout' })
      .option('mpc', { type: 'boolean', default: false, describe: 'train under secret sharing in party processes: P1 shares the data, P0 the weights and gets the model' })
      .option('parties', { type: 'number', describe: '--mpc: 2 (P2 only deals) or 3 (P2 online helper); default 2' })
      .option('bn', { type: 'boolean', default: true, describe: 'cnn: batch norm after the conv; --no-bn builds the seed CNN with a conv bias instead (plaintext and --mpc)' })
      .option('emulate', { type: 'boolean', default: false, describe: '--mpc: run the same job in the plaintext (fixed-point) context' })
      .option('plain-ws', { type: 'boolean', default: false, describe: '--mpc: unencrypted ws instead of TLS with per-party certificates (loopback benchmarks only; the log says so)' })
      .option('reveal-loss', { type: 'boolean', default: false, describe: '--mpc: reveal each batch\'s loss to the data owner (P1) for the progress bar' })
      .option('checkpoint-every', { type: 'number', default: 0, describe: '--mpc: also checkpoint every K batches (each party its own shares)' })
      .option('plan-out', { type: 'string', describe: '--mpc: offline phase: write this run\'s correlation plan into DIR (rehearsed: no data or weights read) and train nothing; bound it with --stop-after-steps' })
      .option('offline', { type: 'string', describe: '--mpc: take the correlations from the plan --plan-out made for this run; no dealer work online' })
      .option('stop-after-steps', { type: 'number', describe: '--mpc: stop after this many batches in this run (checkpoint kept for --resume)' })
      .option('frac-bits', { type: 'number', default: 16, describe: '--mpc: fixed-point fractional bits f' })
      .option('trunc', { type: 'string', choices: ['local', 'dealer'] as const, default: 'dealer' as const, describe: '--mpc: truncation protocol (dealer: exact, one opening with a pair from P2; local: the holders truncate their shares, free but each element fails at |x| / 2^64, ~0.5 failures per epoch of the seed CNN, each one ruining the weights)' })
      .option('logit-bound', { type: 'number', default: 64, describe: '--mpc: public bound B on |logit| for the softmax\'s row max by AppMax (2 parties; logits beyond it break the softmax; 32 was too small for models without batch norm). 3 parties take the exact row max (truncation ReLU) instead' })
      .option('bn-var-range', { type: 'string', default: '0.25,16', describe: '--mpc: public range min,max of a channel\'s batch variance + eps (rsqrt; wider ranges need more Newton steps than f allows)' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    if (argv.mpc && argv.planOut !== undefined) {
      const p = await trainMpcPlanFromArgs(argv, log);
      process.stdout.write(argv.json ? JSON.stringify(p, null, 2) + '\n' : `offline plan ${p.planId} for this run: ${p.entries} correlations in ${argv.planOut}; train with the same options and --offline ${argv.planOut} instead of --plan-out\n`);
      return;
    }
    if (argv.mpc) {
      const m = await trainMpcFromArgs(argv, log, !argv.json && argv.progress);
      if (argv.json) process.stdout.write(JSON.stringify(m, null, 2) + '\n');
      else process.stdout.write(m.complete ? `trained under MPC (${m.parties} parties): test accuracy ${((m.testAccuracy ?? 0) * 100).toFixed(2)}% of ${m.testCount}, ${m.seconds.toFixed(1)} s; saved in ${m.out}\n`
        : `stopped after epoch ${m.epochsDone} (resume with --resume)\n`);
      return;
    }
    if (argv.seeds !== undefined) {
      const s = await trainSeeds(argv, log);
      if (argv.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
      else {
        for (const r of s.runs) process.stdout.write('testAccuracy' in r ? `seed ${r.seed}: ${(r.testAccuracy * 100).toFixed(2)}% (${r.out})\n` : `seed ${r.seed}: failed\n`);
        process.stdout.write(`mean ${(s.meanAccuracy * 100).toFixed(2)}% +- ${(s.stdAccuracy * 100).toFixed(2)} over ${s.seeds.length} seeds\n`);
      }
      return;
    }
    const r = await trainFromArgs(argv, log, !argv.json && argv.progress);
    if (argv.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      process.stdout.write(`${r.complete ? 'trained' : `stopped after epoch ${r.epochsDone} (resume with --resume)`}: ${r.model} on ${r.dataset}, ` +
        `test accuracy ${(r.testAccuracy * 100).toFixed(2)}% of ${r.testCount}, ${r.seconds.toFixed(1)} s training on ${r.backend}; saved in ${r.out}\n`);
    }
  },
};
