/** What a cell of the method comparison records (cells/ID/result.json), and its files. */
import type { ActivationSpec } from '../activations/index.js';
import type { MethodsCell, MethodsConfig } from './grid.js';

export const METHODS_CELL_CONFIG = 'cell-config.json';
export const METHODS_CELL_RESULT = 'result.json';
/** Each half's own result, written when it finishes (a rerun skips it). */
export const MPC_PART = 'mpc.json';
export const PLAIN_PART = 'plain.json';

export interface MethodsCellConfig {
  config: MethodsConfig;
  cell: MethodsCell;
}

/** One training of a cell. */
export interface TrainingOutcome {
  /** diverged: the loss went NaN (plaintext) or the weights left any sane range (MPC: a ring wrap or a blow-up). */
  status: 'ok' | 'diverged';
  /** Test accuracy of the trained model; null when no model came out. */
  testAccuracy: number | null;
  testCount: number;
  /** Training seconds (over resumed runs too). */
  trainSeconds: number;
  /** Wall seconds of the run that finished it (dataset, training, saving, evaluation). */
  wallSeconds: number;
  /** Largest |weight| of the saved model (null without one). */
  maxAbsWeight: number | null;
  /** Why it is marked diverged. */
  note?: string;
}

export interface MpcOutcome extends TrainingOutcome {
  mode: 'emulated' | '2pc' | '3pc';
  /** Real runs: bytes sent + received per party. */
  bytesPerParty: number[];
}

export interface PlainOutcome extends TrainingOutcome {
  /** tfjs backend used. */
  backend: string;
}

export interface MethodsCellResult extends MethodsCell {
  /** The activation both trained (coefficients included). */
  activation: ActivationSpec;
  mpc: MpcOutcome;
  plain: PlainOutcome;
  /** Wall seconds of the cell's worker process (both halves, unless one came from an earlier run). */
  seconds: number;
}
