/**
 * The sturdiness grid of the sturdy-PANN seed (section 6.2, Table 2): every
 * training method {vanilla, Mixup, NGNV, Mixup+NGNV} crossed with every
 * weight decay {0, 1e-4, 5e-4}, each model then evaluated as a PANN (minimax
 * AppReLU at 2^-alpha) and with the truncation ReLU's sign test at l_x bits
 * (Table 8).
 */
import { checkNgnvParams } from '../activations/ngnv.js';
import { checkModelName } from '../models/index.js';

export const STURDY_METHODS = ['vanilla', 'mixup', 'ngnv', 'mixup+ngnv'] as const;
export type SturdyMethod = (typeof STURDY_METHODS)[number];

/** The weight decays the seed compares. */
export const SEED_WEIGHT_DECAYS: readonly number[] = [0, 1e-4, 5e-4];

/** (r, lambda) of NGNV. */
export type NgnvPair = readonly [r: number, lambda: number];

/**
 * The seed's Table 11, ResNet-20 on CIFAR-10: the best NGNV (r, lambda) per
 * method and weight decay. The seed gives no values for other models on this
 * data, so every model uses this row unless --ngnv / --ngnv-mixup say otherwise.
 */
export const TABLE11_RESNET20: Readonly<Record<'ngnv' | 'mixup+ngnv', ReadonlyMap<number, NgnvPair>>> = {
  ngnv: new Map([[0, [0.3, 0.3]], [1e-4, [0.1, 0.3]], [5e-4, [0.3, 0.2]]]),
  'mixup+ngnv': new Map([[0, [0.5, 0.1]], [1e-4, [0.5, 0.1]], [5e-4, [0.5, 0.05]]]),
};

/** Everything that decides a grid's results: two runs with equal configs are the same experiment (resume reuses its cells). */
export interface GridConfig {
  model: string;
  /** Dataset spec (mnist, idx:DIR, cifar10:DIR). */
  dataset: string;
  epochs: number;
  /** Training images, spread over the split (all when absent). */
  limitTrain?: number;
  /** Test images for the per-epoch accuracy and every PANN evaluation, spread over the split (all when absent). */
  evalN?: number;
  batchSize?: number;
  lr?: number;
  seed: number;
  methods: SturdyMethod[];
  weightDecays: number[];
  /** Minimax precisions 2^-alpha. */
  alphas: number[];
  /** Truncation ReLU sign-test bits. */
  lxs: number[];
  /** Minimax input range: a number for every cell, or 'auto' (each model calibrated on its own training images). */
  bound: number | 'auto';
  /** NGNV (r, lambda) for every weight decay, instead of Table 11. */
  ngnv?: NgnvPair;
  ngnvMixup?: NgnvPair;
  /** tfjs backend asked for ('auto' or a name); the one used is in each cell's result. */
  backend: string;
}

export interface GridCell {
  /** Directory-safe name, e.g. mixup-ngnv-wd1e-4. */
  id: string;
  method: SturdyMethod;
  wd: number;
  mixup: boolean;
  ngnv?: { r: number; lambda: number; source: 'table 11 (ResNet-20, CIFAR-10)' | 'flag' };
}

export function formatWd(wd: number): string {
  return wd === 0 ? '0' : wd.toExponential();
}

export function cellId(method: SturdyMethod, wd: number): string {
  return `${method.replace('+', '-')}-wd${formatWd(wd)}`;
}

export function parseMethods(text: string): SturdyMethod[] {
  const out = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = out.find((m) => !(STURDY_METHODS as readonly string[]).includes(m));
  if (bad !== undefined || out.length === 0) throw new Error(`--methods "${text}": expected a comma list of ${STURDY_METHODS.join(', ')}`);
  return STURDY_METHODS.filter((m) => out.includes(m));
}

export function parseWeightDecays(text: string): number[] {
  const out = text.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((v) => !(v >= 0) || !Number.isFinite(v))) throw new Error(`--wds "${text}": expected a comma list of weight decays >= 0`);
  return [...new Set(out)].sort((a, b) => a - b);
}

export function parseNgnvPair(text: string, option: string): NgnvPair {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || parts.some((v) => !Number.isFinite(v))) throw new Error(`--${option} "${text}": expected r,lambda (e.g. 0.3,0.1)`);
  try {
    checkNgnvParams({ r: parts[0]!, lambda: parts[1]!, variant: 'gaussian' });
  } catch (err) {
    throw new Error(`--${option} "${text}": ${(err as Error).message}`);
  }
  return [parts[0]!, parts[1]!];
}

function ngnvFor(c: GridConfig, method: 'ngnv' | 'mixup+ngnv', wd: number): NonNullable<GridCell['ngnv']> {
  const flag = method === 'ngnv' ? c.ngnv : c.ngnvMixup;
  if (flag) return { r: flag[0], lambda: flag[1], source: 'flag' };
  const row = TABLE11_RESNET20[method].get(wd);
  if (!row) {
    const opt = method === 'ngnv' ? '--ngnv' : '--ngnv-mixup';
    throw new Error(`Table 11 has no NGNV (r, lambda) for weight decay ${wd} (it covers ${[...TABLE11_RESNET20[method].keys()].join(', ')}); give ${opt} r,lambda`);
  }
  return { r: row[0], lambda: row[1], source: 'table 11 (ResNet-20, CIFAR-10)' };
}

/** Checks a config, one clear error per problem. */
export function checkGridConfig(c: GridConfig): void {
  checkModelName(c.model);
  const posInt = (v: number | undefined, what: string): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`${what} must be a positive integer, got ${v}`);
  };
  posInt(c.epochs, '--epochs');
  posInt(c.limitTrain, '--limit-train');
  posInt(c.evalN, '--n');
  posInt(c.batchSize, '--batch-size');
  if (c.lr !== undefined && !(c.lr > 0)) throw new RangeError(`--lr must be positive, got ${c.lr}`);
  if (c.methods.length === 0 || c.weightDecays.length === 0) throw new RangeError('the grid is empty: give at least one method and one weight decay');
  if (c.alphas.length === 0 && c.lxs.length === 0) throw new RangeError('nothing to evaluate: give --alpha or --lx');
  if (c.bound !== 'auto' && !(c.bound > 0 && Number.isFinite(c.bound))) throw new RangeError(`--bound must be a number > 0 or auto, got ${c.bound}`);
  gridCells(c);
}

/** The cells, method-major in STURDY_METHODS order, weight decays ascending. */
export function gridCells(c: GridConfig): GridCell[] {
  return c.methods.flatMap((method) => c.weightDecays.map((wd): GridCell => {
    const mixup = method === 'mixup' || method === 'mixup+ngnv';
    const cell: GridCell = { id: cellId(method, wd), method, wd, mixup };
    if (method === 'ngnv' || method === 'mixup+ngnv') cell.ngnv = ngnvFor(c, method, wd);
    return cell;
  }));
}

/** What differs between two configs (for the refusal to resume a different grid), or undefined. */
export { configDifference } from '../cell-grid.js';

/** The seed's names for table headers. */
export function methodLabel(m: SturdyMethod): string {
  return { vanilla: 'Vanilla', mixup: 'Mixup', ngnv: 'NGNV', 'mixup+ngnv': 'Mixup+NGNV' }[m];
}
