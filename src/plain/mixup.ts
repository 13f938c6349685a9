/**
 * Mixup (sturdy-PANN seed, section 4.3, eq. 21; lambda ~ Beta(0.5, 0.5) as in
 * its evaluation setup): each sample is mixed with a partner from the same
 * batch (a random permutation), inputs and one-hot labels alike:
 *   x~ = lambda x + (1 - lambda) x',   y~ = lambda y + (1 - lambda) y'.
 */
import type { Rng } from '../common/random.js';

export const MIXUP_ALPHA = 0.5;

export interface MixedBatch {
  x: Float32Array;
  /** Soft labels, [batch, numClasses]. */
  y: Float32Array;
  lambda: number;
  partner: Uint32Array;
}

/** One-hot labels, [n, numClasses]. */
export function oneHot(labels: ArrayLike<number>, numClasses: number): Float32Array {
  const y = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) y[i * numClasses + labels[i]!] = 1;
  return y;
}

/** Mixes a batch (x: [n, size], labels: n) with the given lambda and partners. */
export function mixBatch(x: Float32Array, labels: ArrayLike<number>, numClasses: number, lambda: number, partner: Uint32Array): MixedBatch {
  const n = labels.length;
  const size = x.length / n;
  if (partner.length !== n) throw new Error(`mixup: ${partner.length} partners for ${n} samples`);
  if (!(lambda >= 0 && lambda <= 1)) throw new Error(`mixup: lambda ${lambda} is outside [0, 1]`);
  const mx = new Float32Array(x.length);
  const my = new Float32Array(n * numClasses);
  const mu = 1 - lambda;
  for (let i = 0; i < n; i++) {
    const j = partner[i]!;
    const a = i * size;
    const b = j * size;
    for (let p = 0; p < size; p++) mx[a + p] = lambda * x[a + p]! + mu * x[b + p]!;
    my[i * numClasses + labels[i]!]! += lambda;
    my[i * numClasses + labels[j]!]! += mu;
  }
  return { x: mx, y: my, lambda, partner };
}

/** Draws lambda ~ Beta(alpha, alpha) and a partner permutation, then mixes. */
export function mixup(x: Float32Array, labels: ArrayLike<number>, numClasses: number, rng: Rng, alpha = MIXUP_ALPHA): MixedBatch {
  const lambda = rng.beta(alpha, alpha);
  return mixBatch(x, labels, numClasses, lambda, rng.permutation(labels.length));
}
