/**
 * One grid cell, run in its own process (`mpcnet experiment sturdiness-cell
 * --dir CELL`): train the backbone (resuming from the cell's checkpoint if a
 * previous run stopped mid-training), then evaluate it as a PANN at every
 * alpha and with the truncation ReLU at every l_x, and write result.json.
 * result.json is written last, through a rename, so its presence means the
 * cell is complete.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadDataset } from '../../data/index.js';
import { selectBackend, type BackendName } from '../backend.js';
import { checkpointDir } from '../checkpoint.js';
import type { TrainSettings } from '../manifest.js';
import { MIXUP_ALPHA } from '../mixup.js';
import { modelDefaults } from '../models/index.js';
import { evaluatePann, type PannApprox, type PannResult } from '../pann/index.js';
import { defaultLrSteps } from '../sgd.js';
import { train } from '../train.js';
import type { GridCell, GridConfig } from './grid.js';
import { writeJsonAtomic } from '../../common/atomic-write.js';

export const CELL_CONFIG_FILE = 'cell-config.json';
export const CELL_RESULT_FILE = 'result.json';
/** The trained backbone (model.json, weights.bin, manifest.json, checkpoint/) inside a cell's directory. */
export const CELL_MODEL_DIR = 'model';

export interface CellConfig {
  grid: GridConfig;
  cell: GridCell;
}

export interface CellPoint {
  accuracy: number;
  correct: number;
  /** Site inputs outside the approximation's range, of all site inputs. */
  outside: number;
  total: number;
}

export interface CellResult extends GridCell {
  backend: string;
  train: {
    /** Accuracy at the last epoch on the evaluation images. */
    testAccuracy: number;
    epochs: number;
    trainImages: number;
    seconds: number;
    imagesPerSecond: number;
    finalTrainLoss: number;
  };
  /** Test images every accuracy below is measured on. */
  n: number;
  /** Float32 accuracy of the trained backbone (exact ReLU). */
  backbone: number;
  /** Minimax bound B used (calibrated or given). */
  bound?: number;
  minimax: ({ alpha: number } & CellPoint)[];
  truncation: ({ lx: number } & CellPoint)[];
  /** Wall time of the cell's process so far (training, possibly across resumed runs, is in train.seconds). */
  seconds: number;
}


export function readCellConfig(dir: string): CellConfig {
  const file = path.join(dir, CELL_CONFIG_FILE);
  if (!existsSync(file)) throw new Error(`${file}: no cell configuration (sturdiness-cell runs a directory prepared by mpcnet experiment sturdiness)`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CellConfig;
  } catch (err) {
    throw new Error(`${file}: not a cell configuration (${(err as Error).message})`);
  }
}

/** The training settings of a cell, with the model's defaults filled in as `mpcnet train` fills them. */
export function cellTrainSettings(g: GridConfig, c: GridCell): TrainSettings {
  const d = modelDefaults(g.model);
  return {
    model: g.model,
    activation: c.ngnv ? { kind: 'ngnv', r: c.ngnv.r, lambda: c.ngnv.lambda, variant: 'gaussian' } : { kind: 'relu' },
    epochs: g.epochs,
    batchSize: g.batchSize ?? d.batchSize,
    lr: g.lr ?? d.lr,
    lrSteps: defaultLrSteps(g.epochs),
    lrGamma: 0.1,
    momentum: 0.9,
    weightDecay: c.wd,
    mixup: c.mixup,
    mixupAlpha: MIXUP_ALPHA,
    seed: g.seed,
  };
}

function point(r: PannResult): CellPoint {
  return { accuracy: r.accuracy, correct: r.correct, outside: r.outside, total: r.total };
}

export async function runCell(dir: string, log: (line: string) => void = () => {}): Promise<CellResult> {
  const t0 = performance.now();
  const { grid: g, cell } = readCellConfig(dir);
  const backend = await selectBackend(g.backend as BackendName | 'auto');
  const dataset = loadDataset(g.dataset, { limitTrain: g.limitTrain, limitTest: g.evalN });
  const modelDir = path.join(dir, CELL_MODEL_DIR);
  const resume = existsSync(checkpointDir(modelDir));
  const trained = await train({ dataset, settings: cellTrainSettings(g, cell), backend, outDir: modelDir, resume, log });
  trained.model.dispose();
  const approxes: PannApprox[] = [
    ...g.alphas.map((alpha): PannApprox => ({ kind: 'minimax', alpha, bound: g.bound })),
    ...g.lxs.map((lx): PannApprox => ({ kind: 'truncation', lx })),
  ];
  const pann = await evaluatePann({ model: modelDir, approxes, n: g.evalN, log });
  const m = trained.manifest;
  const last = m.metrics.epochs[m.metrics.epochs.length - 1];
  // one pass per kind, narrowing the setting's type: no placeholder values for the other kind
  const minimax = pann.results.flatMap((r) => (r.approx.kind === 'minimax' ? [{ alpha: r.approx.alpha, bound: r.approx.bound, ...point(r) }] : []));
  const truncation = pann.results.flatMap((r) => (r.approx.kind === 'truncation' ? [{ lx: r.approx.lx, ...point(r) }] : []));
  const result: CellResult = {
    ...cell,
    backend: backend.name,
    train: {
      testAccuracy: m.metrics.testAccuracy, epochs: m.metrics.epochs.length, trainImages: dataset.train.count,
      seconds: m.training.seconds, imagesPerSecond: last?.imagesPerSecond ?? 0, finalTrainLoss: m.metrics.finalTrainLoss,
    },
    n: pann.n,
    backbone: pann.backboneAccuracy,
    ...(minimax[0] ? { bound: minimax[0].bound } : {}),
    minimax: minimax.map(({ bound: _b, ...p }) => p),
    truncation,
    seconds: (performance.now() - t0) / 1000,
  };
  writeJsonAtomic(path.join(dir, CELL_RESULT_FILE), result);
  return result;
}
