/**
 * Batch normalisation with a fused training gradient.
 *
 * tfjs-layers' BatchNormalization trains through tf.moments and the
 * FusedBatchNorm kernel, and tfjs differentiates each piece separately:
 * about twenty full-size tensor ops per layer in the backward pass, ~20% of
 * a ResNet-20 step on wasm. The closed form (Ioffe and Szegedy 2015, sec. 3)
 *   dbeta = sum(dy),  dgamma = sum(dy * xhat),
 *   dx = gamma / sigma * (dy - dbeta / m - xhat * dgamma / m)
 * needs about six. This subclass computes the training pass with that
 * gradient (tf.customGrad) and inherits everything else, inference and
 * config included. It is registered under tfjs' own class name
 * 'BatchNormalization', so saved models stay standard tfjs models and any
 * tfjs loader reads them; the moving statistics are updated exactly as
 * tfjs-layers does (biased batch variance, momentum average).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';

interface BatchNormArgs {
  name?: string;
  momentum?: number;
  epsilon?: number;
  axis?: number;
}

/** The fields of tfjs-layers' BatchNormalization this subclass reads. */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariable;
  beta: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

type LayerCtor = new (args: BatchNormArgs) => tfl.layers.Layer;

// tfjs-layers exports only a factory; its class is the constructor of what it makes.
const TfjsBatchNormalization = tfl.layers.batchNormalization({}).constructor as LayerCtor;

/**
 * Training-mode batch norm over every axis but the last, with its closed-form
 * gradient. Returns the output and the batch mean and (biased) variance.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  // mean and variance come back kept (tf.keep): the caller must dispose them.
  const axes = [...Array(x.rank - 1).keys()];
  const count = x.size / x.shape[x.rank - 1]!;
  let mean: tf.Tensor | undefined;
  let variance: tf.Tensor | undefined;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const m = tf.moments(xi, axes);
    // Kept past the custom op's own scope for the moving averages; the caller disposes them.
    mean = tf.keep(m.mean);
    variance = tf.keep(m.variance);
    const invStd = tf.rsqrt(tf.add(m.variance, epsilon));
    const xhat = tf.mul(tf.sub(xi, m.mean), invStd);
    save([xhat, invStd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = Array.isArray(dy) ? dy[0]! : dy;
        const [xh, inv, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dbeta = tf.sum(d, axes);
        const dgamma = tf.sum(tf.mul(d, xh), axes);
        // dx = a * dy + c * xhat + e, per-channel a = gamma / sigma, c = -a dgamma / m, e = -a dbeta / m.
        const a = tf.mul(gm, inv);
        const c = tf.neg(tf.div(tf.mul(a, dgamma), count));
        const e = tf.neg(tf.div(tf.mul(a, dbeta), count));
        const dx = tf.add(tf.add(tf.mul(d, a), tf.mul(xh, c)), e);
        return [dx, dgamma, dbeta];
      },
    };
  });
  const y = op(x, gamma, beta);
  return { y, mean: mean!, variance: variance! };
}

export class BatchNorm extends TfjsBatchNormalization {
  static className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const self = this as unknown as BatchNormFields;
    const lastAxis = self.axis === -1 || self.axis === x.rank - 1;
    if (kwargs['training'] !== true || !self.center || !self.scale || !lastAxis) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, self.gamma.read(), self.beta.read(), self.epsilon);
      for (const [v, value] of [[self.movingMean, mean], [self.movingVariance, variance]] as const) {
        const old = v.read();
        v.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - self.momentum)));
      }
      tf.dispose([mean, variance]);
      return y;
    });
  }
}
tf.serialization.registerClass(BatchNorm as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
