/** Random model weights for tests (seeded, so runs repeat). */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/common/random.js';

/** Random weights of a sensible size for every layer (He-scaled kernels, batch-norm statistics away from the identity). */
export function randomize(model: LayersModel, seed: number): void {
  const rng = new Rng(seed);
  const values = model.weights.map((w) => {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const leaf = w.originalName.split('/').pop();
    const fanIn = shape.length >= 2 ? n / shape[shape.length - 1]! : 1;
    const draw = (): number => {
      switch (leaf) {
        case 'kernel': return rng.normal() * Math.sqrt(2 / fanIn);
        case 'gamma': return 0.5 + rng.uniform();
        case 'beta': return rng.normal() * 0.2;
        case 'moving_mean': return rng.normal() * 0.3;
        case 'moving_variance': return 0.5 + 1.5 * rng.uniform();
        default: return rng.normal() * 0.1;
      }
    };
    const data = Float32Array.from({ length: n }, draw);
    // PPoly: around its initial coefficients, so the polynomial stays tame.
    if (leaf === 'coefficients') {
      const init = w.read().dataSync();
      for (let i = 0; i < n; i++) data[i] = init[i]! + data[i]! * 0.2;
    }
    return tf.tensor(data, shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}
