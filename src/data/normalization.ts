/**
 * Per-channel input normalisation: x = (pixel / 255 - mean[c]) / std[c],
 * with mean and std measured on the training split. It is part of the
 * model: the manifest records it and evaluation (plain or MPC) applies the
 * same numbers.
 */
import type { ImageSplit } from './types.js';

export interface Normalization {
  /** Per channel, on the [0, 1] pixel scale. */
  mean: number[];
  std: number[];
}

export function measureNormalization(s: ImageSplit, channels: number): Normalization {
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  const px = s.pixels;
  for (let i = 0; i < px.length; i++) {
    const v = px[i]! / 255;
    const c = i % channels;
    sum[c] += v;
    sq[c] += v * v;
  }
  const n = px.length / channels;
  const mean = Array.from(sum, (v) => v / n);
  const std = Array.from(sq, (v, c) => Math.sqrt(Math.max(v / n - mean[c]! ** 2, 0)));
  // A constant channel would divide by zero; leave it unscaled.
  return { mean, std: std.map((v) => (v > 1e-6 ? v : 1)) };
}

/**
 * Writes images `indices` of `s`, normalised, into `out` (NHWC float32).
 * `out` must hold indices.length * size values.
 */
export function gatherNormalized(s: ImageSplit, size: number, indices: ArrayLike<number>, norm: Normalization, out: Float32Array): void {
  const channels = norm.mean.length;
  const scale = norm.std.map((v) => 1 / (255 * v));
  const shift = norm.mean.map((m, c) => m / norm.std[c]!);
  let o = 0;
  for (let k = 0; k < indices.length; k++) {
    const base = indices[k]! * size;
    for (let i = 0; i < size; i++) {
      const c = i % channels;
      out[o++] = s.pixels[base + i]! * scale[c]! - shift[c]!;
    }
  }
}
