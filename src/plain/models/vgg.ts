/**
 * A small VGG: three stages of two 3x3 conv + BN + activation layers (32, 64,
 * 128 filters), each stage followed by a 2x2 average pool (linear, so cheap
 * under MPC), then global average pooling and a dense classifier. Inputs of
 * any size >= 8x8 and any channel count.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { convBn, dense, type BuildContext } from './common.js';

export const VGG_SMALL_STAGES = [32, 64, 128] as const;

export function buildVggSmall(ctx: BuildContext, inputShape: [number, number, number], numClasses: number): LayersModel {
  if (inputShape[0] < 8 || inputShape[1] < 8) throw new Error(`VGG needs inputs of at least 8x8, got ${inputShape[0]}x${inputShape[1]}`);
  const input = tfl.input({ shape: inputShape, name: 'input' });
  let x: SymbolicTensor = input;
  VGG_SMALL_STAGES.forEach((filters, stage) => {
    x = convBn(ctx, x, `s${stage + 1}c1`, filters, 3, 1);
    x = convBn(ctx, x, `s${stage + 1}c2`, filters, 3, 1);
    x = tfl.layers.averagePooling2d({ name: `s${stage + 1}_pool`, poolSize: 2, strides: 2 }).apply(x) as SymbolicTensor;
  });
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as SymbolicTensor;
  const logits = dense(ctx, x, 'logits', numClasses);
  return tfl.model({ inputs: input, outputs: logits, name: 'vgg' });
}
