/** Assembling normalised input batches as tensors. */
import * as tf from '@tensorflow/tfjs-core';
import { gatherNormalized, type Normalization } from '../data/normalization.js';
import { imageSize, type ImageDataset, type ImageSplit } from '../data/types.js';

export interface BatchShape {
  height: number;
  width: number;
  channels: number;
}

/** Normalised images `indices` of a split as a Float32Array, NHWC. */
export function batchInputs(d: BatchShape, s: ImageSplit, indices: ArrayLike<number>, norm: Normalization): Float32Array {
  const size = imageSize(d);
  const out = new Float32Array(indices.length * size);
  gatherNormalized(s, size, indices, norm, out);
  return out;
}

export function inputTensor(d: BatchShape, x: Float32Array, n: number): tf.Tensor4D {
  return tf.tensor4d(x, [n, d.height, d.width, d.channels]);
}

export function datasetShape(d: ImageDataset): [number, number, number] {
  return [d.height, d.width, d.channels];
}
