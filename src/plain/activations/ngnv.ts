/**
 * NGNV-ReLU: ReLU with the "noise generator for negative values with large
 * magnitude" of the sturdy-PANN seed (section 5.1, equations 23-24), active
 * only in training.
 *
 * Among the negative entries z of the activation's input (the whole batch
 * tensor), the fraction r with the largest magnitude gets the intra-model
 * perturbation
 *   gaussian (eq. 23):  delta = lambda * eps * z,        eps ~ N(0, 1)
 *   sign     (eq. 24):  delta = lambda * sgn(eps) * z
 * and every other entry gets none. The perturbation is added to what the
 * ReLU passes on: out = ReLU(z) + delta. The paper says "added to ReLU
 * inputs", but with |lambda * eps| < 1 a negative z + delta stays negative
 * and ReLU would erase it; the method's stated purpose is to leak negative
 * inputs to the next layer, the way an approximate ReLU's error
 * eps_sgn * z does (eq. 20), so it is added after the ReLU.
 * Gradients: d out / dz = step(z) + (lambda * eps on the perturbed entries),
 * the noise factors being constants of the step. At inference the layer is
 * exactly ReLU.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import { deriveSeed, Rng } from '../../common/random.js';

export type NgnvVariant = 'gaussian' | 'sign';

export interface NgnvParams {
  /** Fraction of the negative inputs (most negative first) that are perturbed, in [0, 1]. */
  r: number;
  /** Noise scale lambda (> 0). */
  lambda: number;
  variant: NgnvVariant;
}

export function checkNgnvParams(p: NgnvParams): void {
  if (!(p.r >= 0 && p.r <= 1)) throw new Error(`NGNV r must be in [0, 1], got ${p.r}`);
  if (!(p.lambda > 0 && Number.isFinite(p.lambda))) throw new Error(`NGNV lambda must be positive, got ${p.lambda}`);
  if (p.variant !== 'gaussian' && p.variant !== 'sign') throw new Error(`NGNV variant must be gaussian or sign, got ${String(p.variant)}`);
}

/** k-th smallest (0-based) of a[0..n), reordering it in place (Hoare quickselect, median of three). */
function select(a: Uint32Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!, y = a[mid]!, z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

const SIGN = 0x80000000;
const BUCKET_SHIFT = 19; // 8192 buckets over the float32 bit pattern: sign, exponent, 4 mantissa bits
let bucketScratch = new Uint32Array(0);
let indexScratch = new Uint32Array(0);

/**
 * The per-entry noise factor F (delta = F * z): lambda * eps (or lambda *
 * sgn(eps)) on the round(r * #negatives) most negative entries, 0 elsewhere.
 * Ties at the threshold are taken in index order.
 *
 * Selection without sorting: for a negative float32 the bit pattern, read as
 * an unsigned integer, grows with the magnitude. A histogram over its top
 * 13 bits finds the bucket holding the threshold, and only that bucket is
 * searched exactly. Three branch-light passes; with the branch-free index
 * compaction below, ~12 ms for 800K inputs against ~30 ms for copying the
 * negatives, quickselecting them and drawing noise per entry.
 */
export function ngnvFactors(z: Float32Array, p: NgnvParams, rng: Rng): Float32Array {
  const f = new Float32Array(z.length);
  const bits = new Uint32Array(z.buffer, z.byteOffset, z.length);
  const n = z.length;
  const hist = new Uint32Array(1 << (32 - BUCKET_SHIFT));
  let negZeros = 0;
  let nans = 0;
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    hist[u >>> BUCKET_SHIFT]!++;
    negZeros += u === SIGN ? 1 : 0;
    nans += (u & 0x7fffffff) > 0x7f800000 ? 1 : 0;
  }
  if (nans > 0) throw new Error(`NGNV: ${nans} NaN values in the activation input (training diverged?)`);
  let negatives = -negZeros;
  for (let b = SIGN >>> BUCKET_SHIFT; b < hist.length; b++) negatives += hist[b]!;
  const k = Math.round(p.r * negatives);
  if (k === 0) return f;
  // Walk from the largest magnitudes down to the bucket where the k-th one
  // falls (-0 sits in the lowest negative bucket and is never counted there
  // before every true negative is).
  let above = 0;
  let bucket = hist.length - 1;
  while (above + hist[bucket]! < k) above += hist[bucket--]!;
  const need = k - above; // how many to take from this bucket, largest first
  if (bucketScratch.length < hist[bucket]!) bucketScratch = new Uint32Array(hist[bucket]!);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    if (u >>> BUCKET_SHIFT === bucket && u !== SIGN) bucketScratch[m++] = u;
  }
  const threshold = select(bucketScratch, m, m - need);
  let strictlyAbove = 0;
  for (let i = 0; i < m; i++) strictlyAbove += bucketScratch[i]! > threshold ? 1 : 0;
  let ties = need - strictlyAbove;
  // Indices of the selected entries, compacted without branching on the
  // (unpredictable) comparison; then the noise for just those entries.
  if (indexScratch.length < n) indexScratch = new Uint32Array(n);
  const idx = indexScratch;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    const tie = u === threshold ? 1 : 0;
    const take = (u > threshold ? 1 : 0) | (tie & (ties > 0 ? 1 : 0));
    ties -= tie & take;
    idx[count] = i;
    count += take;
  }
  const lambda = p.lambda;
  if (p.variant === 'sign') {
    // eq. 24: sgn(eps) of a standard normal is a fair coin; 32 per generator word.
    let word = 0;
    for (let j = 0; j < count; j++) {
      if ((j & 31) === 0) word = rng.nextU32();
      f[idx[j]!] = (word >>> (j & 31)) & 1 ? lambda : -lambda;
    }
  } else {
    // eq. 23: eps ~ N(0, 1) by Marsaglia's polar method, two per accepted pair.
    for (let j = 0; j < count; j += 2) {
      let a: number;
      let b: number;
      let q: number;
      do {
        a = rng.nextU32() / 2147483648 - 1;
        b = rng.nextU32() / 2147483648 - 1;
        q = a * a + b * b;
      } while (q >= 1 || q === 0);
      const scale = lambda * Math.sqrt((-2 * Math.log(q)) / q);
      f[idx[j]!] = a * scale;
      if (j + 1 < count) f[idx[j + 1]!] = b * scale;
    }
  }
  return f;
}

export interface NgnvReluArgs extends LayerArgs, Partial<NgnvParams> {}

export class NgnvRelu extends tfl.layers.Layer {
  static className = 'NgnvRelu';
  readonly params: NgnvParams;
  /** Set by the trainer before each step, so the noise is a function of (seed, epoch, step). */
  noiseSeed = 0;
  private calls = 0;

  constructor(args: NgnvReluArgs) {
    super(args);
    this.params = { r: args.r ?? 0.3, lambda: args.lambda ?? 0.05, variant: args.variant ?? 'gaussian' };
    checkNgnvParams(this.params);
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const z = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs['training'] !== true) return tf.relu(z);
    // Distinct noise for each call of this layer within one step.
    const rng = new Rng(deriveSeed(this.noiseSeed, hashName(this.name), this.calls++));
    const factors = ngnvFactors(z.dataSync() as Float32Array, this.params, rng);
    return tf.tidy(() => tf.add(tf.relu(z), tf.mul(tf.tensor(factors, z.shape, 'float32'), z)));
  }

  /** Starts a new step's noise stream. */
  reseed(seed: number): void {
    this.noiseSeed = seed;
    this.calls = 0;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), r: this.params.r, lambda: this.params.lambda, variant: this.params.variant };
  }
}
tf.serialization.registerClass(NgnvRelu);

function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h;
}
