/**
 * SGD with momentum and L2 weight decay, in PyTorch's form (the seed's
 * experiments: momentum 0.9, weight decay 0 / 1e-4 / 5e-4, section 6):
 *   g' = g + wd * w,   v <- mu * v + g',   w <- w - lr * v.
 * Written out rather than tf.train.momentum so that the decay sits inside
 * the momentum, as the seed trained, and the velocities are plain
 * variables a checkpoint can save and restore exactly.
 */
import * as tf from '@tensorflow/tfjs-core';

export class SgdMomentum {
  readonly velocities: tf.Variable[];

  constructor(readonly vars: readonly tf.Variable[], readonly momentum: number, readonly weightDecay: number) {
    if (!(momentum >= 0 && momentum < 1)) throw new Error(`momentum must be in [0, 1), got ${momentum}`);
    if (!(weightDecay >= 0)) throw new Error(`weight decay must be >= 0, got ${weightDecay}`);
    this.velocities = vars.map((v) => {
      const zeros = tf.zerosLike(v);
      const velocity = tf.variable(zeros, false);
      zeros.dispose();
      return velocity;
    });
  }

  /** One update with gradients in the order of `vars`. Does not dispose the gradients. */
  step(grads: readonly tf.Tensor[], lr: number): void {
    if (grads.length !== this.vars.length) throw new Error(`SGD: ${grads.length} gradients for ${this.vars.length} variables`);
    tf.tidy(() => {
      this.vars.forEach((w, i) => {
        const g = this.weightDecay > 0 ? tf.add(grads[i]!, tf.mul(w, this.weightDecay)) : grads[i]!;
        const v = tf.add(tf.mul(this.velocities[i]!, this.momentum), g);
        this.velocities[i]!.assign(v);
        w.assign(tf.sub(w, tf.mul(v, lr)));
      });
    });
  }

  dispose(): void {
    for (const v of this.velocities) v.dispose();
  }
}

/** Step decay (the seed: x0.1 at set epochs): lr at 0-based epoch e. */
export function stepDecayLr(base: number, steps: readonly number[], gamma: number, epoch: number): number {
  let lr = base;
  for (const s of steps) if (epoch >= s) lr *= gamma;
  return lr;
}

/**
 * Default decay epochs: halfway and three quarters through, which is the
 * seed's 100 and 150 of 200 epochs (section 6, evaluation setup).
 */
export function defaultLrSteps(epochs: number): number[] {
  return [Math.round(epochs * 0.5), Math.round(epochs * 0.75)].filter((e, i, a) => e > 0 && e < epochs && a.indexOf(e) === i);
}
