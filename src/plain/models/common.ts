/** Building blocks shared by the model builders: seeded initialisers, conv + BN + activation. */
import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { makeActivation, type ActivationSpec } from '../activations/index.js';
import { deriveSeed } from '../../common/random.js';
import { BatchNorm } from './batch-norm.js';

export interface BuildContext {
  activation: ActivationSpec;
  seed: number;
  /** Counter for per-layer initialiser seeds. */
  next: number;
}

export function layerSeed(ctx: BuildContext): number {
  // tfjs seeds its initialisers through seedrandom with a string; keep it a plain integer.
  return deriveSeed(ctx.seed, ctx.next++) % 2147483647;
}

/**
 * Conv (no bias: the batch norm's beta takes its place) -> BatchNorm -> activation.
 * BN momentum 0.9 matches PyTorch's 0.1 update rate, as the seed's models were trained.
 */
export function convBn(ctx: BuildContext, x: SymbolicTensor, name: string, filters: number, kernel: number, stride: number, act = true): SymbolicTensor {
  let y = tfl.layers.conv2d({
    name: `${name}_conv`, filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: false,
    kernelInitializer: tfl.initializers.heNormal({ seed: layerSeed(ctx) }),
  }).apply(x) as SymbolicTensor;
  y = batchNorm(`${name}_bn`).apply(y) as SymbolicTensor;
  return act ? (makeActivation(ctx.activation, `${name}_act`).apply(y) as SymbolicTensor) : y;
}

export function batchNorm(name: string): tfl.layers.Layer {
  return new BatchNorm({ name, momentum: 0.9, epsilon: 1e-5 });
}

export function dense(ctx: BuildContext, x: SymbolicTensor, name: string, units: number): SymbolicTensor {
  return tfl.layers.dense({
    name, units, kernelInitializer: tfl.initializers.glorotUniform({ seed: layerSeed(ctx) }),
  }).apply(x) as SymbolicTensor;
}
