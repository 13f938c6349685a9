/**
 * `--bound auto` for the minimax ReLU: the smallest B that covers every
 * ReLU input (and every max-pooling difference) the model owner sees when
 * it runs the model in the clear with the exact ReLU on the calibration
 * images (calibrationSplit: training images spread over the split, never
 * test images), as `mpcnet pann --bound auto` does.
 */
import { shareInput } from '../../protocols/sharing.js';
import { gatherNormalized } from '../data/normalization.js';
import { calibrationSplit, type ImageDataset } from '../data/types.js';
import { Context } from '../mpc/context.js';
import { forward, shareParams } from './graph.js';
import type { ModelSpec } from './spec.js';
import { nhwcToNchw } from './layers/tensor-ops.js';

export interface Calibration {
  bound: number;
  /** Which images were used, in words. */
  batch: string;
}

export async function calibrateBound(spec: ModelSpec, d: ImageDataset, normalization: { mean: number[]; std: number[] }, fracBits: number): Promise<Calibration> {
  const split = calibrationSplit(d);
  const count = split.count;
  const [c, h, w] = spec.inputShape as [number, number, number];
  const nhwc = new Float32Array(count * h * w * c);
  gatherNormalized(split, h * w * c, Array.from({ length: count }, (_, i) => i), normalization, nhwc);
  const nchw = nhwcToNchw(nhwc, count, h, w, c);
  const ctx = Context.plain({ fracBits });
  const params = shareParams(ctx, spec);
  const observed = { maxAbs: 0 };
  await forward(ctx, spec, params, shareInput(ctx, 0, nchw, [count, c, h, w]), { kind: 'exact', observed });
  if (!(observed.maxAbs > 0)) throw new Error(`${spec.source}: --bound auto saw no ReLU input on the calibration batch (does the model have a ReLU?)`);
  return { bound: observed.maxAbs, batch: `${count} training images of ${d.spec} spread over the split` };
}
