/**
 * Polynomial activations, coefficients in the power basis, ascending:
 * p(x) = c0 + c1 x + ... + cd x^d, evaluated by Horner's rule.
 *
 * - PolynomialActivation: fixed coefficients (e.g. a fit of ReLU from
 *   src/approx; plain arrays here so the two halves stay independent).
 * - PPoly: the coefficients are trainable weights, initialised from given
 *   ones (the MPC-CNN seed, section 3.4.1: initialising from a fit of an
 *   existing activation beats random initialisation), shared by the layer
 *   or one set per channel (Wu et al.'s form, eq. 11).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import type { LayerVariable } from '@tensorflow/tfjs-layers';

export function checkCoefficients(c: readonly number[], what: string): void {
  if (!Array.isArray(c) || c.length < 1 || !c.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new Error(`${what}: coefficients must be a non-empty list of finite numbers (power basis, c0 first)`);
  }
}

/** Horner with scalar coefficients. */
export function hornerScalar(x: tf.Tensor, c: readonly number[]): tf.Tensor {
  return tf.tidy(() => {
    let y: tf.Tensor = tf.scalar(c[c.length - 1]!);
    for (let k = c.length - 2; k >= 0; k--) y = tf.add(tf.mul(y, x), c[k]!);
    return c.length === 1 ? tf.add(tf.zerosLike(x), y) : y;
  });
}

export interface PolynomialArgs extends LayerArgs {
  coefficients?: number[];
}

export class PolynomialActivation extends tfl.layers.Layer {
  static className = 'PolynomialActivation';
  readonly coefficients: number[];

  constructor(args: PolynomialArgs) {
    super(args);
    this.coefficients = [...(args.coefficients ?? [0, 1])];
    checkCoefficients(this.coefficients, 'polynomial activation');
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return s;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return hornerScalar(Array.isArray(inputs) ? inputs[0]! : inputs, this.coefficients);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), coefficients: this.coefficients };
  }
}
tf.serialization.registerClass(PolynomialActivation);

export interface PPolyArgs extends LayerArgs {
  /** Initial coefficients, power basis, c0 first. */
  coefficients?: number[];
  /** One coefficient set per channel (last axis) instead of one for the layer. */
  perChannel?: boolean;
}

export class PPoly extends tfl.layers.Layer {
  static className = 'PPoly';
  readonly initial: number[];
  readonly perChannel: boolean;
  private coeffs: LayerVariable | undefined;

  constructor(args: PPolyArgs) {
    super(args);
    this.initial = [...(args.coefficients ?? [0, 0.5, 0.25])];
    checkCoefficients(this.initial, 'PPoly');
    this.perChannel = args.perChannel ?? false;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const channels = shape[shape.length - 1];
    if (this.perChannel && (channels === null || channels === undefined)) throw new Error(`PPoly ${this.name}: per-channel coefficients need a known channel count`);
    const d = this.initial.length;
    const wShape = this.perChannel ? [d, channels as number] : [d];
    this.coeffs = this.addWeight('coefficients', wShape, 'float32', tfl.initializers.zeros(), undefined, true);
    const init = tf.tidy(() => {
      const c = tf.tensor1d(this.initial);
      return this.perChannel ? tf.tile(tf.reshape(c, [d, 1]), [1, channels as number]) : c;
    });
    this.coeffs.write(init);
    init.dispose();
    this.built = true;
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return s;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.tidy(() => {
      const c = this.coeffs!.read();
      const d = this.initial.length;
      const coef = (k: number): tf.Tensor => (this.perChannel ? tf.squeeze(tf.slice(c, [k, 0], [1, -1]), [0]) : tf.slice(c, [k], [1]));
      let y = coef(d - 1);
      for (let k = d - 2; k >= 0; k--) y = tf.add(tf.mul(y, x), coef(k));
      return d === 1 ? tf.add(tf.zerosLike(x), y) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), coefficients: this.initial, perChannel: this.perChannel };
  }
}
tf.serialization.registerClass(PPoly);
