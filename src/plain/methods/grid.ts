/**
 * The method comparison of the PPoly seed (mpc-cnn-batchnorm-ppoly 4.4,
 * Tables 3-6): the seed CNN with a learnable PPoly and with fixed
 * polynomial fits of Leaky ReLU, Swish and tanh by each fitting method,
 * each with and without batch norm, trained under MPC (or its emulation)
 * and in plaintext tfjs with the same settings. Here: the configuration and
 * the cells; the worker is src/cli/methods-cell.ts (it runs MPC, which
 * src/plain does not depend on), the runner ./run.ts.
 */
import { FIT_METHODS, type FitMethod } from '../../approx/fits.js';
import type { ActivationName } from '../../approx/functions.js';

export const METHOD_FUNCTIONS = ['leaky-relu', 'swish', 'tanh'] as const satisfies readonly ActivationName[];
export type MethodFunction = (typeof METHOD_FUNCTIONS)[number];

/** A row: the learnable PPoly (the seed's proposal) or a fixed fit. */
export type MethodRow = { kind: 'ppoly' } | { kind: 'fit'; fn: MethodFunction; method: FitMethod };

/** Everything that decides the results: equal configs are the same experiment (resume reuses cells). */
export interface MethodsConfig {
  /** Dataset spec (mnist, idx:DIR). */
  dataset: string;
  epochs: number;
  /** Training / test images, spread over the split (all when absent). */
  limitTrain?: number;
  limitTest?: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Polynomial degree of every row. */
  degree: number;
  /** MPC side: 2 or 3 parties, run in real processes or emulated in the plaintext context. */
  parties: 2 | 3;
  emulate: boolean;
  /** 2PC softmax's public bound on |logit| (`train --mpc --logit-bound`); absent: train --mpc's default. */
  logitBound?: number;
  /** tfjs backend asked for the plaintext reference ('auto' or a name). */
  backend: string;
}

export interface MethodsCell {
  /** Directory-safe, e.g. tanh-chebyshev-nobn. */
  id: string;
  row: MethodRow;
  bn: boolean;
  /** The `--act` of both trainings. */
  act: string;
}

/** Rows in the seed's order: PPoly (Table 6), then method-major as Table 4, functions within. */
export function methodRows(): MethodRow[] {
  return [{ kind: 'ppoly' }, ...FIT_METHODS.flatMap((method) => METHOD_FUNCTIONS.map((fn): MethodRow => ({ kind: 'fit', fn, method })))];
}

export function rowId(r: MethodRow): string {
  return r.kind === 'ppoly' ? 'ppoly' : `${r.fn}-${r.method}`;
}

export function actOf(r: MethodRow, degree: number): string {
  if (r.kind === 'ppoly') return degree === 3 ? 'ppoly' : `ppoly:d${degree}`;
  return `fit:${r.fn}:${r.method}:d${degree}`;
}

/** Every row with and without batch norm, row-major. */
export function methodCells(c: MethodsConfig): MethodsCell[] {
  return methodRows().flatMap((row) => [true, false].map((bn): MethodsCell => ({ id: `${rowId(row)}-${bn ? 'bn' : 'nobn'}`, row, bn, act: actOf(row, c.degree) })));
}

/** The seed's names (Tables 4 and 6). */
export function methodLabel(r: MethodRow): string {
  if (r.kind === 'ppoly') return 'PPoly (learnable)';
  return { lstsq: 'Regression', taylor: 'Taylor series', chebyshev: 'Chebyshev', lagrange: 'Lagrange' }[r.method];
}

export function functionLabel(r: MethodRow): string {
  if (r.kind === 'ppoly') return 'Leaky ReLU (start)';
  return { 'leaky-relu': 'Leaky ReLU', swish: 'Swish', tanh: 'tanh' }[r.fn];
}

export function checkMethodsConfig(c: MethodsConfig): void {
  const posInt = (v: number | undefined, what: string): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`${what} must be a positive integer, got ${v}`);
  };
  posInt(c.epochs, '--epochs');
  posInt(c.limitTrain, '--limit-train');
  posInt(c.limitTest, '--limit-test');
  posInt(c.batchSize, '--batch-size');
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) throw new RangeError(`--lr must be a finite number > 0, got ${c.lr}`);
  if (!Number.isInteger(c.seed)) throw new RangeError(`--seed must be an integer, got ${c.seed}`);
  if (!Number.isInteger(c.degree) || c.degree < 1 || c.degree > 12) throw new RangeError(`--degree must be 1..12, got ${c.degree}`);
  if (c.parties !== 2 && c.parties !== 3) throw new RangeError(`--parties must be 2 or 3, got ${String(c.parties)}`);
  if (c.logitBound !== undefined && !(c.logitBound > 0 && Number.isFinite(c.logitBound))) throw new RangeError(`--logit-bound must be a number > 0, got ${c.logitBound}`);
}

/** What differs between two configs (for the refusal to resume a different grid), or undefined. */
