/**
 * The approximation library's ElementwiseOps on tfjs tensors, so the same
 * programs (Clenshaw stages of p_alpha, AppReLU, AppMax) that the float64,
 * float32 and fixed-point paths run also run inside a tfjs layer. Every op
 * allocates a tensor: callers wrap a whole program in tf.tidy.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ElementwiseOps } from '../../approx/elementwise.js';

export const tfOps: ElementwiseOps<tf.Tensor> = {
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  scale: (a, s) => tf.mul(a, tf.scalar(s)),
  shift: (a, s) => tf.add(a, tf.scalar(s)),
  fill: (like, v) => tf.fill(like.shape, v, 'float32'),
};
