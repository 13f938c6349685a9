/**
 * The seed CNN (MPC-CNN seed, section 3.5: CONV -> BN -> ACT -> POOL -> FC):
 * Conv 32 3x3 same -> BatchNorm -> activation -> AvgPool 2x2 -> Dense(classes).
 * Average pooling rather than max: it is linear, so cheap under MPC.
 * Without batch norm (the seed's Table 3 baseline) the conv has a bias.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { makeActivation } from '../activations/index.js';
import { convBn, dense, layerSeed, type BuildContext } from './common.js';

function convBiasAct(ctx: BuildContext, x: SymbolicTensor, name: string, filters: number, kernel: number): SymbolicTensor {
  const y = tfl.layers.conv2d({
    name: `${name}_conv`, filters, kernelSize: kernel, strides: 1, padding: 'same', useBias: true,
    kernelInitializer: tfl.initializers.heNormal({ seed: layerSeed(ctx) }),
  }).apply(x) as SymbolicTensor;
  return makeActivation(ctx.activation, `${name}_act`).apply(y) as SymbolicTensor;
}

export function buildSeedCnn(ctx: BuildContext, inputShape: [number, number, number], numClasses: number, batchNorm = true): LayersModel {
  const input = tfl.input({ shape: inputShape, name: 'input' });
  // The same initialiser seeds either way: with and without BN start from the same conv kernel.
  let x = batchNorm ? convBn(ctx, input, 'block1', 32, 3, 1) : convBiasAct(ctx, input, 'block1', 32, 3);
  x = tfl.layers.averagePooling2d({ name: 'pool1', poolSize: 2, strides: 2 }).apply(x) as SymbolicTensor;
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as SymbolicTensor;
  const logits = dense(ctx, x, 'logits', numClasses);
  return tfl.model({ inputs: input, outputs: logits, name: 'cnn' });
}
