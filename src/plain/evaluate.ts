/** Test accuracy of a model (inference mode: NGNV is plain ReLU, BN uses moving statistics). */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Normalization } from '../data/normalization.js';
import type { ImageSplit } from '../data/types.js';
import { batchInputs, inputTensor, type BatchShape } from './batches.js';

export interface Accuracy {
  accuracy: number;
  n: number;
  correct: number;
}

export async function evaluateAccuracy(model: LayersModel, d: BatchShape, s: ImageSplit, norm: Normalization, batchSize = 256): Promise<Accuracy> {
  let correct = 0;
  for (let start = 0; start < s.count; start += batchSize) {
    const n = Math.min(batchSize, s.count - start);
    const idx = Array.from({ length: n }, (_, i) => start + i);
    const x = inputTensor(d, batchInputs(d, s, idx, norm), n);
    const pred = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, -1));
    const p = await pred.data();
    tf.dispose([x, pred]);
    for (let i = 0; i < n; i++) if (p[i] === s.labels[start + i]) correct++;
  }
  return { accuracy: s.count ? correct / s.count : 0, n: s.count, correct };
}
