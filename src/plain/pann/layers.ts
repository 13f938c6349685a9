/**
 * tfjs layers that stand in for ReLU (and max pooling) when a trained
 * backbone is evaluated under an MPC-friendly approximation, in plaintext.
 * All are weight-free and registered with tfjs serialization, so a topology
 * that names them loads with the original weights.
 *
 * - AppReluLayer: B r_alpha(x / B), the minimax composite-sign AppReLU, in
 *   float32 by stage-wise Clenshaw (the library's float32-safe path).
 * - TruncReluLayer: x * DReLU(x) with the sign decided exactly as the 3-party
 *   truncation protocol decides it (simulateTruncSign on x encoded with f
 *   fractional bits, random shares and flips from a seeded stream).
 * - PolyActivationLayer: a fixed power-basis polynomial (a low-degree fit of ReLU).
 * - AppMaxPoolLayer: max pooling with each window's maximum by AppMax.
 * - PannProbeLayer: exact ReLU / max pooling that records max |input| (calibration).
 *
 * Every layer reports, per call, its input count, the count outside its
 * range and max |x| to range-counter.ts under its layer name.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import { createHash } from 'node:crypto';
import { appMaxScale, appMaxScaledProgram } from '../../approx/app-max.js';
import { appReluProgram } from '../../approx/app-relu.js';
import { checkMinimaxAlpha, checkMinimaxBound, minimaxSign } from '../../approx/minimax-sign.js';
import { simulateTruncSign, truncSignParams, type TruncSignParams } from '../../approx/truncation-sign.js';
import { encode } from '../../ring/fixed.js';
import { Prg, SEED_BYTES } from '../../ring/prg.js';
import { hornerScalar } from '../activations/polynomial.js';
import { recordRange } from './range-counter.js';
import { tfOps } from './tf-ops.js';

const single = (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(inputs) ? inputs[0]! : inputs);

/** Counts |x| > bound (bound Infinity: none) and max |x|, and reports them for `layer`. */
function countRange(layer: string, x: tf.Tensor, lo: number, hi: number): void {
  const [outside, maxAbs] = tf.tidy(() => {
    const o = tf.sum(tf.cast(tf.logicalOr(tf.less(x, lo), tf.greater(x, hi)), 'int32'));
    return [o, tf.max(tf.abs(x))];
  });
  recordRange(layer, x.size, outside.dataSync()[0]!, x.size ? maxAbs.dataSync()[0]! : 0);
  tf.dispose([outside, maxAbs]);
}

/**
 * The programs allocate one tensor per op (about a hundred at alpha 14) and
 * free them only when their tidy ends: run them on batch slices of at most
 * CHUNK_ELEMENTS values each so the peak stays near 100 MB.
 */
export const CHUNK_ELEMENTS = 1 << 18;

function inBatchChunks(x: tf.Tensor, fn: (part: tf.Tensor) => tf.Tensor): tf.Tensor {
  const n = x.rank === 0 ? 1 : x.shape[0]!;
  const rows = Math.max(1, Math.floor(CHUNK_ELEMENTS / Math.max(1, x.size / Math.max(n, 1))));
  if (x.rank === 0 || rows >= n) return tf.tidy(() => fn(x));
  const parts: tf.Tensor[] = [];
  for (let at = 0; at < n; at += rows) parts.push(tf.tidy(() => fn(tf.slice(x, at, Math.min(rows, n - at)))));
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

abstract class ShapePreserving extends tfl.layers.Layer {
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return s;
  }
}

export interface AppReluArgs extends LayerArgs {
  alpha: number;
  bound: number;
}

export class AppReluLayer extends ShapePreserving {
  static className = 'AppReluLayer';
  readonly alpha: number;
  readonly bound: number;

  constructor(args: AppReluArgs) {
    super(args);
    checkMinimaxAlpha(args.alpha, 'AppReluLayer');
    checkMinimaxBound(args.bound, 'AppReluLayer');
    this.alpha = args.alpha;
    this.bound = args.bound;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = single(inputs);
    countRange(this.name, x, -this.bound, this.bound);
    const sign = minimaxSign({ alpha: this.alpha });
    return inBatchChunks(x, (part) => appReluProgram(tfOps, sign, part, { bound: this.bound, basis: 'chebyshev' }));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), alpha: this.alpha, bound: this.bound };
  }
}
tf.serialization.registerClass(AppReluLayer);

export interface TruncReluArgs extends LayerArgs {
  lx: number;
  skip?: number;
  fracBits: number;
  seed: number;
}

/** The 16-byte stream key of a TruncReluLayer: from the run's seed and the layer's name, so layers draw independent streams. */
export function truncReluStreamKey(seed: number, layerName: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`mpcnet-pann-trunc:${seed}:${layerName}`).digest().subarray(0, SEED_BYTES));
}

export class TruncReluLayer extends ShapePreserving {
  static className = 'TruncReluLayer';
  readonly lx: number;
  readonly skip: number;
  readonly fracBits: number;
  readonly seed: number;
  readonly params: TruncSignParams;
  private stream: Prg | undefined;

  constructor(args: TruncReluArgs) {
    super(args);
    this.lx = args.lx;
    this.skip = args.skip ?? 0;
    this.fracBits = args.fracBits;
    this.seed = args.seed;
    if (!Number.isInteger(this.seed) || this.seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${this.seed}`);
    this.params = truncSignParams({ lx: this.lx, skip: this.skip, fracBits: this.fracBits });
  }

  /**
   * One stream per layer, drawn on call after call (created at the first):
   * a model evaluated on the same batches in the same order decides the same.
   */
  private prg(): Prg {
    this.stream ??= new Prg(truncReluStreamKey(this.seed, this.name));
    return this.stream;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = single(inputs);
    const values = x.dataSync() as Float32Array;
    const ring = encode(values, this.fracBits);
    const bits = simulateTruncSign(ring, this.params, this.prg());
    const out = new Float32Array(values.length);
    // out of the test's range: |x| >= 2^(lx + d) in ring units, i.e. 2^(lx/2) real
    const limit = 2 ** (this.params.lx + this.params.dropBits);
    const scale = 2 ** this.fracBits;
    let outside = 0;
    let maxAbs = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      out[i] = bits[i] ? v : 0;
      const a = Math.abs(v);
      if (Math.abs(Math.round(v * scale)) >= limit) outside++;
      if (a > maxAbs) maxAbs = a;
    }
    recordRange(this.name, values.length, outside, maxAbs);
    return tf.tensor(out, x.shape, 'float32');
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), lx: this.lx, skip: this.skip, fracBits: this.fracBits, seed: this.seed };
  }
}
tf.serialization.registerClass(TruncReluLayer);

export interface PolyActivationArgs extends LayerArgs {
  /** Power basis, c0 first. */
  coefficients: number[];
  /** Where the fit is meant to hold (inputs outside are counted). */
  interval?: [number, number];
}

export class PolyActivationLayer extends ShapePreserving {
  static className = 'PolyActivationLayer';
  readonly coefficients: number[];
  readonly interval: [number, number] | null;

  constructor(args: PolyActivationArgs) {
    super(args);
    const c = args.coefficients;
    if (!Array.isArray(c) || c.length === 0 || !c.every(Number.isFinite)) throw new RangeError('PolyActivationLayer: coefficients must be a non-empty list of finite numbers');
    this.coefficients = [...c];
    this.interval = args.interval ? [args.interval[0], args.interval[1]] : null;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = single(inputs);
    countRange(this.name, x, this.interval?.[0] ?? -Infinity, this.interval?.[1] ?? Infinity);
    return hornerScalar(x, this.coefficients);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), coefficients: this.coefficients, interval: this.interval };
  }
}
tf.serialization.registerClass(PolyActivationLayer);

export type PoolPadding = 'valid' | 'same';

export interface PoolGeometry {
  poolSize: [number, number];
  strides: [number, number];
  padding: PoolPadding;
}

const pair = (v: number | number[] | undefined, fallback: [number, number]): [number, number] =>
  v === undefined || v === null ? fallback : typeof v === 'number' ? [v, v] : [v[0]!, v[1] ?? v[0]!];

/** TF pooling geometry: output size and the (before, after) padding of one spatial axis. */
export function poolAxis(size: number, k: number, s: number, padding: PoolPadding): { out: number; before: number; after: number } {
  if (padding === 'valid') return { out: Math.max(Math.ceil((size - k + 1) / s), 0), before: 0, after: 0 };
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

/** Repeats the first / last slice along `axis` (edge padding: a copy of a window element never changes its maximum). */
function edgePad(x: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D {
  if (before === 0 && after === 0) return x;
  const n = x.shape[axis];
  const parts: tf.Tensor4D[] = [];
  const reps = (r: number): [number, number, number, number] => (axis === 1 ? [1, r, 1, 1] : [1, 1, r, 1]);
  const at = (i: number): tf.Tensor4D => (axis === 1 ? tf.slice(x, [0, i, 0, 0], [-1, 1, -1, -1]) : tf.slice(x, [0, 0, i, 0], [-1, -1, 1, -1]));
  if (before > 0) parts.push(tf.tile(at(0), reps(before)));
  parts.push(x);
  if (after > 0) parts.push(tf.tile(at(n - 1), reps(after)));
  return tf.concat(parts, axis);
}

/** The kh * kw strided views of x (NHWC) whose elementwise max is the pooled output. */
export function poolWindows(x: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D[] {
  const [, h, w, c] = x.shape;
  const [kh, kw] = g.poolSize;
  const [sh, sw] = g.strides;
  const ah = poolAxis(h, kh, sh, g.padding);
  const aw = poolAxis(w, kw, sw, g.padding);
  const padded = edgePad(edgePad(x, 1, ah.before, ah.after), 2, aw.before, aw.after);
  const views: tf.Tensor4D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      views.push(tf.stridedSlice(padded, [0, i, j, 0], [x.shape[0], i + (ah.out - 1) * sh + 1, j + (aw.out - 1) * sw + 1, c], [1, sh, sw, 1]) as tf.Tensor4D);
    }
  }
  return views;
}

interface PoolArgs extends LayerArgs {
  poolSize?: number | number[];
  strides?: number | number[] | null;
  padding?: PoolPadding;
  dataFormat?: string;
}

function geometryOf(args: PoolArgs): PoolGeometry {
  if (args.dataFormat !== undefined && args.dataFormat !== 'channelsLast') throw new RangeError(`max pooling: only channels-last data is supported, got ${args.dataFormat}`);
  const poolSize = pair(args.poolSize, [2, 2]);
  const strides = pair(args.strides ?? undefined, poolSize);
  const padding = args.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same') throw new RangeError(`max pooling: padding must be valid or same, got ${String(padding)}`);
  return { poolSize, strides, padding };
}

function poolOutputShape(s: tfl.Shape | tfl.Shape[], g: PoolGeometry): tfl.Shape {
  const shape = (Array.isArray(s[0]) ? s[0] : s) as tfl.Shape;
  const dim = (v: number | null, k: number, st: number): number | null => (v === null ? null : poolAxis(v, k, st, g.padding).out);
  return [shape[0]!, dim(shape[1]!, g.poolSize[0], g.strides[0]), dim(shape[2]!, g.poolSize[1], g.strides[1]), shape[3]!];
}

function poolConfig(g: PoolGeometry): tf.serialization.ConfigDict {
  return { poolSize: g.poolSize, strides: g.strides, padding: g.padding, dataFormat: 'channelsLast' };
}

export interface AppMaxPoolArgs extends PoolArgs {
  alpha: number;
  bound: number;
}

export class AppMaxPoolLayer extends tfl.layers.Layer {
  static className = 'AppMaxPoolLayer';
  readonly alpha: number;
  readonly bound: number;
  readonly geometry: PoolGeometry;

  constructor(args: AppMaxPoolArgs) {
    super(args);
    checkMinimaxAlpha(args.alpha, 'AppMaxPoolLayer');
    checkMinimaxBound(args.bound, 'AppMaxPoolLayer');
    this.alpha = args.alpha;
    this.bound = args.bound;
    this.geometry = geometryOf(args);
    // AppMax's input range needs (ceil(log2 n) - 1) 2^-alpha < 1/2: fail at construction, not at the first batch.
    appMaxScale(this.alpha, this.geometry.poolSize[0] * this.geometry.poolSize[1], this.bound);
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return poolOutputShape(s, this.geometry);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = single(inputs) as tf.Tensor4D;
    countRange(this.name, x, -this.bound, this.bound);
    const sign = minimaxSign({ alpha: this.alpha });
    return inBatchChunks(x, (part) => appMaxScaledProgram(tfOps, sign, poolWindows(part as tf.Tensor4D, this.geometry), this.bound, 'chebyshev'));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...poolConfig(this.geometry), alpha: this.alpha, bound: this.bound };
  }
}
tf.serialization.registerClass(AppMaxPoolLayer);

export interface PannProbeArgs extends PoolArgs {
  mode: 'relu' | 'maxpool';
}

/** Exact ReLU or max pooling that records max |input| under its name: the calibration pass of --bound auto. */
export class PannProbeLayer extends tfl.layers.Layer {
  static className = 'PannProbeLayer';
  readonly mode: 'relu' | 'maxpool';
  readonly geometry: PoolGeometry;

  constructor(args: PannProbeArgs) {
    super(args);
    if (args.mode !== 'relu' && args.mode !== 'maxpool') throw new RangeError(`PannProbeLayer: mode must be relu or maxpool, got ${String(args.mode)}`);
    this.mode = args.mode;
    this.geometry = geometryOf(args);
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return this.mode === 'relu' ? s : poolOutputShape(s, this.geometry);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = single(inputs);
    countRange(this.name, x, -Infinity, Infinity);
    if (this.mode === 'relu') return tf.relu(x);
    const g = this.geometry;
    return tf.maxPool(x as tf.Tensor4D, g.poolSize, g.strides, g.padding);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode, ...(this.mode === 'maxpool' ? poolConfig(this.geometry) : {}) };
  }
}
tf.serialization.registerClass(PannProbeLayer);
