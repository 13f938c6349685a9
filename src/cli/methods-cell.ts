/**
 * One cell of `mpcnet experiment methods`, in its own process (`mpcnet
 * experiment methods-cell --dir CELL`): the seed CNN with the cell's
 * activation, with or without batch norm, trained as `train --mpc` trains
 * it (real party processes, or --emulate's plaintext context) into
 * CELL/mpc, then with the same settings in plaintext tfjs into CELL/plain.
 * Each half writes its outcome when it finishes (a rerun skips it, or
 * continues from its checkpoint); result.json comes last, through a rename,
 * so its presence means the cell is complete.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadDataset } from '../data/index.js';
import { checkpointState } from '../jobs/train-mpc-checkpoint.js';
import { readModelFiles } from '../nn/model-files.js';
import { parseActivation } from '../plain/activations/index.js';
import { selectBackend, type BackendName } from '../plain/backend.js';
import { readCheckpoint } from '../plain/checkpoint.js';
import type { TrainSettings } from '../plain/manifest.js';
import type { MethodsCell, MethodsConfig } from '../plain/methods/grid.js';
import { METHODS_CELL_CONFIG, METHODS_CELL_RESULT, MPC_PART, PLAIN_PART, type MethodsCellConfig, type MethodsCellResult, type MpcOutcome, type PlainOutcome } from '../plain/methods/result.js';
import { MIXUP_ALPHA } from '../plain/mixup.js';
import { defaultLrSteps } from '../plain/sgd.js';
import { writeJsonAtomic } from '../common/atomic-write.js';
import { train } from '../plain/train.js';
import { TRAIN_MPC_DEFAULTS, trainMpcRun } from './train-mpc.js';

/**
 * Weights beyond this mark an MPC run as diverged: trained seed CNNs stay
 * within a few units, while a wrapped ring value decodes to ~1e8 and more.
 */
export const DIVERGED_WEIGHT = 1e4;

/** The settings `mpcnet train [--mpc] --model cnn --act ACT [--no-bn] --epochs E --batch B --lr LR --seed S` builds. */
export function cellSettings(c: MethodsConfig, cell: MethodsCell): TrainSettings {
  return {
    model: 'cnn', activation: parseActivation(cell.act), epochs: c.epochs, batchSize: c.batchSize, lr: c.lr, lrSteps: defaultLrSteps(c.epochs),
    lrGamma: 0.1, momentum: 0.9, weightDecay: 0, mixup: false, mixupAlpha: MIXUP_ALPHA, seed: c.seed, ...(cell.bn ? {} : { batchNorm: false }),
  };
}

function readJson<T>(file: string): T | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

function maxAbsWeight(dir: string): number {
  let m = 0;
  for (const w of readModelFiles(dir, { weights: true }).weights.values()) for (const v of w.values ?? []) m = Math.max(m, Number.isFinite(v) ? Math.abs(v) : Infinity);
  return m;
}

async function mpcHalf(c: MethodsConfig, cell: MethodsCell, settings: TrainSettings, out: string, log: (line: string) => void): Promise<MpcOutcome> {
  const t0 = performance.now();
  const r = await trainMpcRun(
    { settings, dataset: c.dataset, limitTrain: c.limitTrain, limitTest: c.limitTest, out, resume: checkpointState(out).kind === 'present' },
    { ...TRAIN_MPC_DEFAULTS, parties: c.parties, emulate: c.emulate, bn: cell.bn, ...(c.logitBound !== undefined ? { logitBound: c.logitBound } : {}) }, log, false,
  );
  if (!r.complete || r.testAccuracy === null) throw new Error(`${out}: MPC training stopped before its last epoch`);
  const w = maxAbsWeight(out);
  const diverged = !(w <= DIVERGED_WEIGHT) || !Number.isFinite(r.testAccuracy);
  return {
    status: diverged ? 'diverged' : 'ok', testAccuracy: r.testAccuracy, testCount: r.testCount,
    trainSeconds: r.epochs.reduce((s, e) => s + e.seconds, 0), wallSeconds: (performance.now() - t0) / 1000, maxAbsWeight: w,
    ...(diverged ? { note: `max |weight| ${w.toPrecision(3)} > ${DIVERGED_WEIGHT}` } : {}),
    mode: c.emulate ? 'emulated' : c.parties === 3 ? '3pc' : '2pc',
    bytesPerParty: r.perParty.map((p) => p.bytesSent + p.bytesReceived),
  };
}

async function plainHalf(c: MethodsConfig, settings: TrainSettings, out: string, log: (line: string) => void): Promise<PlainOutcome> {
  const t0 = performance.now();
  const backend = await selectBackend(c.backend as BackendName | 'auto');
  const dataset = loadDataset(c.dataset, { limitTrain: c.limitTrain, limitTest: c.limitTest });
  const base = { backend: backend.name, testCount: dataset.test.count };
  try {
    const t = await train({ dataset, settings, backend, outDir: out, resume: readCheckpoint(out) !== undefined, log });
    t.model.dispose();
    const w = maxAbsWeight(out);
    return { ...base, status: 'ok', testAccuracy: t.manifest.metrics.testAccuracy, trainSeconds: t.manifest.training.seconds, wallSeconds: (performance.now() - t0) / 1000, maxAbsWeight: w };
  } catch (err) {
    // The plaintext trainer stops at the first non-finite loss: that is this cell's result, not a failure.
    const msg = (err as Error).message;
    if (!/training diverged/.test(msg)) throw err;
    const wall = (performance.now() - t0) / 1000;
    return { ...base, status: 'diverged', testAccuracy: null, trainSeconds: wall, wallSeconds: wall, maxAbsWeight: null, note: msg };
  }
}

export async function runMethodsCell(dir: string, log: (line: string) => void = () => {}): Promise<MethodsCellResult> {
  const t0 = performance.now();
  const cfg = readJson<MethodsCellConfig>(path.join(dir, METHODS_CELL_CONFIG));
  if (!cfg) throw new Error(`${path.join(dir, METHODS_CELL_CONFIG)}: no cell configuration (methods-cell runs a directory prepared by mpcnet experiment methods)`);
  const { config: c, cell } = cfg;
  const settings = cellSettings(c, cell);
  const mpcFile = path.join(dir, MPC_PART);
  let mpc = readJson<MpcOutcome>(mpcFile);
  if (!mpc) {
    mpc = await mpcHalf(c, cell, settings, path.join(dir, 'mpc'), log);
    writeJsonAtomic(mpcFile, mpc);
  }
  const plainFile = path.join(dir, PLAIN_PART);
  let plain = readJson<PlainOutcome>(plainFile);
  if (!plain) {
    plain = await plainHalf(c, settings, path.join(dir, 'plain'), log);
    writeJsonAtomic(plainFile, plain);
  }
  const result: MethodsCellResult = { ...cell, activation: settings.activation, mpc, plain, seconds: (performance.now() - t0) / 1000 };
  writeJsonAtomic(path.join(dir, METHODS_CELL_RESULT), result);
  return result;
}
