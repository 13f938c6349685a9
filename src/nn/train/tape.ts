/**
 * What a training forward pass keeps for the backward pass, per layer, and
 * the options of the training-only layer forms. The forward of src/nn/graph.ts
 * writes it when given a tape; src/nn/train/backward.ts reads it in reverse.
 */
import type { Masked } from '../../../protocols/masked.js';
import type { Normalisation } from '../../../protocols/range-normalisation.js';
import type { Shared } from '../../mpc/shared.js';

export type LayerCache =
  /** conv2d, dense: the layer's input (for dW). */
  | { kind: 'linear'; x: Shared }
  /**
   * Batch norm: the centred input d = x - mu and the per-channel scale
   * s = gamma / sqrt(var + eps), both masked (opened once, reused by the
   * backward products), 1 / sqrt(var + eps), and the new moving statistics.
   */
  | { kind: 'batchnorm'; d: Masked; scale: Masked; invStd: Shared; movingMean: Shared; movingVariance: Shared }
  /** PPoly and fixed polynomials: x, x^2, ..., x^d at f bits. */
  | { kind: 'ppoly'; powers: Shared[]; masks: Masked[] }
  /** ReLU (3PC truncation ReLU): its DReLU bit (0 fractional bits). */
  | { kind: 'relu'; bit: Shared }
  /** avgpool, flatten: the input shape. */
  | { kind: 'reshape'; inShape: number[] };

export interface BatchNormTrainOptions {
  /** How rsqrt(var + eps) brings its input into [0.5, 1): 'public' (2PC, from the layer's varianceRange) or 'private' (3PC DReLUs). */
  normalisation: Normalisation;
  /** rsqrt Newton steps (default from the range, protocols/sqrt.ts). */
  iterations?: number;
}

export class Tape {
  readonly caches = new Map<string, LayerCache>();

  constructor(readonly batchNorm: BatchNormTrainOptions) {}

  set(layer: string, cache: LayerCache): void {
    this.caches.set(layer, cache);
  }

  get<K extends LayerCache['kind']>(layer: string, kind: K): Extract<LayerCache, { kind: K }> {
    const c = this.caches.get(layer);
    if (!c || c.kind !== kind) throw new Error(`layer ${layer}: the training forward kept no ${kind} cache for it (was the forward run with a tape?)`);
    return c as Extract<LayerCache, { kind: K }>;
  }
}
