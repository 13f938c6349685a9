/**
 * The seed CNN (MPC-CNN seed, section 3.5: CONV -> BN -> ACT -> POOL -> FC):
 * Conv 32 3x3 same -> BatchNorm -> activation -> AvgPool 2x2 -> Dense(classes).
 * Average pooling rather than max: it is linear, so cheap under MPC.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { convBn, dense, type BuildContext } from './common.js';

export function buildSeedCnn(ctx: BuildContext, inputShape: [number, number, number], numClasses: number): LayersModel {
  const input = tfl.input({ shape: inputShape, name: 'input' });
  let x = convBn(ctx, input, 'block1', 32, 3, 1);
  x = tfl.layers.averagePooling2d({ name: 'pool1', poolSize: 2, strides: 2 }).apply(x) as SymbolicTensor;
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as SymbolicTensor;
  const logits = dense(ctx, x, 'logits', numClasses);
  return tfl.model({ inputs: input, outputs: logits, name: 'cnn' });
}
