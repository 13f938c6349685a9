/**
 * The manifest saved next to a trained backbone (manifest.json): everything
 * an evaluation or an MPC run needs besides the weights - the dataset and its
 * split, the input normalisation, the model and activation, how it was
 * trained and what it reached.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Normalization } from '../data/normalization.js';
import type { ActivationSpec } from './activations/index.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'mpcnet-backbone';

export interface TrainSettings {
  model: string;
  activation: ActivationSpec;
  epochs: number;
  batchSize: number;
  lr: number;
  /** 0-based epochs at whose start the rate is multiplied by lrGamma. */
  lrSteps: number[];
  lrGamma: number;
  momentum: number;
  weightDecay: number;
  mixup: boolean;
  mixupAlpha: number;
  seed: number;
  /** Seed CNN only: false when built without batch norm (`--no-bn`). Absent means with it, so older manifests read the same. */
  batchNorm?: boolean;
}

export interface EpochMetrics {
  epoch: number;
  lr: number;
  trainLoss: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface DatasetRecord {
  spec: string;
  kind: string;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  trainCount: number;
  testCount: number;
  split: string;
}

export interface BackboneManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  createdAt: string;
  dataset: DatasetRecord;
  normalization: Normalization;
  model: { name: string; parameters: number; file: string; weights: string };
  activation: ActivationSpec;
  training: TrainSettings & { backend: string; backendDetail: string; seconds: number };
  metrics: { testAccuracy: number; testCount: number; finalTrainLoss: number; epochs: EpochMetrics[] };
}

export function writeManifest(dir: string, m: BackboneManifest): void {
  writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(m, null, 2) + '\n');
}

export function readManifest(dir: string): BackboneManifest {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) throw new Error(`${file}: manifest not found (is ${dir} a directory written by mpcnet train?)`);
  let m: BackboneManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as BackboneManifest;
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (m.format !== MANIFEST_FORMAT) throw new Error(`${file}: format "${String(m.format)}" is not ${MANIFEST_FORMAT}`);
  const n = m.normalization;
  if (!n || !Array.isArray(n.mean) || !Array.isArray(n.std) || n.mean.length !== m.dataset?.channels || n.std.length !== n.mean.length) {
    throw new Error(`${file}: normalization must give one mean and std per input channel`);
  }
  return m;
}
