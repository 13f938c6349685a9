/**
 * ResNet "option A" shortcut (He et al. 2016, CIFAR experiments): subsample
 * by the stride and zero-pad the new channels, no weights. It is what the
 * CIFAR ResNet-20..56 of the sturdy-PANN experiments use, and it costs
 * nothing under MPC (a public selection and zeros).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';

export interface PadShortcutArgs extends LayerArgs {
  stride?: number;
  outChannels?: number;
}

export class PadShortcut extends tfl.layers.Layer {
  static className = 'PadShortcut';
  readonly stride: number;
  readonly outChannels: number;

  constructor(args: PadShortcutArgs) {
    super(args);
    this.stride = args.stride ?? 2;
    this.outChannels = args.outChannels ?? 0;
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    const [n, h, w, c] = (Array.isArray(s[0]) ? s[0] : s) as tfl.Shape;
    const sub = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Math.ceil(v / this.stride));
    return [n ?? null, sub(h), sub(w), this.outChannels || (c ?? null)];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    return tf.tidy(() => {
      // A 1x1 average pool with stride s picks x[:, ::s, ::s, :] and has a gradient on every backend.
      const sub = this.stride > 1 ? tf.avgPool(x, 1, this.stride, 'valid') : x;
      const extra = this.outChannels - x.shape[3];
      if (extra <= 0) return sub;
      const lo = Math.floor(extra / 2);
      return tf.pad(sub, [[0, 0], [0, 0], [0, 0], [lo, extra - lo]]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), stride: this.stride, outChannels: this.outChannels };
  }
}
tf.serialization.registerClass(PadShortcut);
