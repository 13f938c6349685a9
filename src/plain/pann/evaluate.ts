/**
 * PANN evaluation in plaintext: the accuracy of a trained backbone when its
 * ReLUs (and, under minimax, its max poolings) are replaced by an MPC
 * approximation, next to the backbone's own float accuracy on the same images.
 *
 * --bound auto: B is the largest |input| of any ReLU (or max pooling) site
 * over a calibration batch, CALIBRATION_IMAGES training images spread evenly
 * over the training split (limitSplit; the split is ordered by class), run
 * through the original model (exact ReLU, probes record max |x|).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { performance } from 'node:perf_hooks';
import { fit } from '../../approx/fits.js';
import { toPower } from '../../approx/polynomial.js';
import { DEFAULT_FRAC_BITS } from '../../ring/fixed.js';
import { loadDataset } from '../../data/index.js';
import { calibrationSplit, type ImageDataset } from '../../data/types.js';
import type { Normalization } from '../../data/normalization.js';
import { batchInputs, inputTensor } from '../batches.js';
import { evaluateAccuracy } from '../evaluate.js';
import { readManifest } from '../manifest.js';
import { loadModel } from '../model-io.js';
import { readRangeStats, resetRangeStats } from './range-counter.js';
import { loadRewritten, probeReplacer, replacerFor, type PannApprox, type PannSite, type ResolvedApprox } from './transform.js';

export { CALIBRATION_IMAGES } from '../../data/types.js';

export interface Calibration {
  images: number;
  /** max over the sites of max |input|: the smallest B that covers them all. */
  bound: number;
  perSite: { layer: string; kind: string; maxAbs: number }[];
}

interface Loaded {
  dataset: ImageDataset;
  normalization: Normalization;
}

function loadBackboneData(dir: string, n: number | undefined): Loaded {
  const manifest = readManifest(dir);
  const dataset = loadDataset(manifest.dataset.spec, { limitTest: n });
  const m = manifest.dataset;
  if (dataset.height !== m.height || dataset.width !== m.width || dataset.channels !== m.channels) {
    throw new Error(`${m.spec}: images are ${dataset.height}x${dataset.width}x${dataset.channels}, the model in ${dir} takes ${m.height}x${m.width}x${m.channels}`);
  }
  return { dataset, normalization: manifest.normalization };
}

/** Runs `CALIBRATION_IMAGES` training images through the original model with probes at every site. */
export async function calibrate(dir: string, data?: Loaded): Promise<Calibration> {
  const { dataset: d, normalization } = data ?? loadBackboneData(dir, 1);
  const split = calibrationSplit(d);
  const { model, sites } = await loadRewritten(dir, probeReplacer);
  resetRangeStats();
  const x = inputTensor(d, batchInputs(d, split, Array.from({ length: split.count }, (_, i) => i), normalization), split.count);
  tf.dispose(model.predict(x) as tf.Tensor);
  x.dispose();
  model.dispose();
  const stats = readRangeStats();
  const perSite = sites.map((s) => ({ layer: s.layer, kind: s.kind, maxAbs: stats.get(s.layer)?.maxAbs ?? 0 }));
  const bound = Math.max(...perSite.map((s) => s.maxAbs));
  if (!(bound > 0)) throw new Error(`${dir}: calibration saw only zeros at the ReLU sites; give --bound B`);
  return { images: split.count, bound, perSite };
}

/** Settles 'auto' (from `calibration`, computed when needed) and fills the defaults. */
export async function resolveApprox(dir: string, a: PannApprox, calibration?: () => Promise<Calibration>): Promise<ResolvedApprox> {
  const auto = calibration ?? (() => calibrate(dir));
  switch (a.kind) {
    case 'minimax':
      return { kind: 'minimax', alpha: a.alpha, bound: a.bound === 'auto' ? (await auto()).bound : a.bound };
    case 'truncation':
      return { kind: 'truncation', lx: a.lx, skip: a.skip ?? 0, fracBits: a.fracBits ?? DEFAULT_FRAC_BITS, seed: a.seed ?? 1 };
    case 'poly': {
      let interval: [number, number];
      if (a.interval === undefined || a.interval === 'auto') {
        const b = (await auto()).bound;
        interval = [-b, b];
      } else interval = a.interval;
      const p = toPower(fit('relu', { method: a.method, degree: a.degree, interval }));
      return { kind: 'poly', method: a.method, degree: a.degree, interval, coefficients: p.coefficients };
    }
  }
}

/** The backbone in `dir` with every ReLU site (and max pooling under minimax) approximated, with its original weights. */
export async function approximateModel(dir: string, approx: PannApprox | ResolvedApprox): Promise<LayersModel> {
  // a resolved minimax / truncation setting resolves to itself; a resolved poly keeps its coefficients
  const resolved = 'coefficients' in approx ? approx : await resolveApprox(dir, approx as PannApprox);
  return (await loadRewritten(dir, replacerFor(resolved))).model;
}

export function describeApprox(a: ResolvedApprox): string {
  switch (a.kind) {
    case 'minimax':
      return `minimax alpha=${a.alpha} B=${formatNum(a.bound)}`;
    case 'truncation':
      return `truncation lx=${a.lx} s=${a.skip} f=${a.fracBits}`;
    case 'poly':
      return `poly ${a.method} d=${a.degree} [${formatNum(a.interval[0])}, ${formatNum(a.interval[1])}]`;
  }
}

const formatNum = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(4));

export interface SiteRange {
  layer: string;
  kind: string;
  /** Inputs outside the layer's range ([-B, B] minimax; the sign test's 2^(lx/2) truncation; the fit interval poly). */
  outside: number;
  total: number;
  maxAbs: number;
}

export interface PannResult {
  setting: string;
  approx: ResolvedApprox;
  accuracy: number;
  correct: number;
  n: number;
  outside: number;
  total: number;
  sites: SiteRange[];
  seconds: number;
}

export interface PannReport {
  model: string;
  dataset: string;
  n: number;
  backboneAccuracy: number;
  backboneSeconds: number;
  calibration?: Calibration;
  results: PannResult[];
}

export interface PannOptions {
  model: string;
  approxes: PannApprox[];
  /** Test images, spread over the classes (default: the whole test split). */
  n?: number;
  batchSize?: number;
  log?: (line: string) => void;
}

export async function evaluatePann(o: PannOptions): Promise<PannReport> {
  const log = o.log ?? (() => undefined);
  const data = loadBackboneData(o.model, o.n);
  const { dataset: d, normalization } = data;
  let t = performance.now();
  const original = await loadModel(o.model);
  const base = await evaluateAccuracy(original, d, d.test, normalization, o.batchSize);
  original.dispose();
  const backboneSeconds = (performance.now() - t) / 1000;
  log(`backbone: ${(base.accuracy * 100).toFixed(2)}% on ${base.n} test images (${backboneSeconds.toFixed(1)} s)`);
  let calibration: Calibration | undefined;
  const auto = async (): Promise<Calibration> => {
    if (!calibration) {
      calibration = await calibrate(o.model, data);
      log(`calibration: B = ${calibration.bound.toPrecision(5)} (max |ReLU input| over ${calibration.images} training images)`);
    }
    return calibration;
  };
  const results: PannResult[] = [];
  for (const a of o.approxes) {
    const approx = await resolveApprox(o.model, a, auto);
    const setting = describeApprox(approx);
    t = performance.now();
    const { model, sites } = await loadRewritten(o.model, replacerFor(approx));
    resetRangeStats();
    const acc = await evaluateAccuracy(model, d, d.test, normalization, o.batchSize);
    model.dispose();
    const stats = readRangeStats();
    const siteRanges = sites.map((s: PannSite) => {
      const r = stats.get(s.layer) ?? { outside: 0, total: 0, maxAbs: 0 };
      return { layer: s.layer, kind: s.kind, outside: r.outside, total: r.total, maxAbs: r.maxAbs };
    });
    const seconds = (performance.now() - t) / 1000;
    const r: PannResult = {
      setting, approx, accuracy: acc.accuracy, correct: acc.correct, n: acc.n,
      outside: siteRanges.reduce((s, x) => s + x.outside, 0), total: siteRanges.reduce((s, x) => s + x.total, 0), sites: siteRanges, seconds,
    };
    log(`${setting}: ${(r.accuracy * 100).toFixed(2)}% (${r.outside} of ${r.total} site inputs out of range; ${seconds.toFixed(1)} s)`);
    results.push(r);
  }
  return { model: o.model, dataset: d.spec, n: base.n, backboneAccuracy: base.accuracy, backboneSeconds, ...(calibration ? { calibration } : {}), results };
}
