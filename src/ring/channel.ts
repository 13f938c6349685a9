/**
 * Per-channel products over Z_2^64 on tensors laid out [outer, channels,
 * inner] (NCHW: outer = N, inner = H * W; [N, C]: inner = 1), the two
 * bilinear maps of batch norm (PROTOCOLS.md 5):
 *   channelScale: out[o, c, s] = x[o, c, s] * g[c]      (gamma * x_hat, gamma * dy)
 *   channelDot:   out[c] = sum_{o, s} x[o, c, s] y[o, c, s]   (dgamma = sum x_hat dy)
 * Plain JS loops: V8 lowers BigUint64Array multiply-adds with a truncating
 * store to native 64-bit instructions (see elementwise.ts).
 */
import { allocRing, shapeSize, type Shape } from './tensor.js';

export interface ChannelLayout {
  outer: number;
  channels: number;
  inner: number;
}

/** The [outer, channels, inner] view of `shape` around its channel axis (default 1, as NCHW and [N, C]). */
export function channelLayout(shape: Shape, axis = 1): ChannelLayout {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    throw new RangeError(`channel axis ${axis} is outside a tensor of shape [${shape.join(', ')}]`);
  }
  return { outer: shapeSize(shape.slice(0, axis)), channels: shape[axis]!, inner: shapeSize(shape.slice(axis + 1)) };
}

function layoutSize({ outer, channels, inner }: ChannelLayout): number {
  return outer * channels * inner;
}

function expect(what: string, a: { length: number }, n: number): void {
  if (a.length !== n) throw new RangeError(`${what}: expected ${n} elements, got ${a.length}`);
}

/** x * g broadcast over the channel axis; with `out`, out += x * g (returns out). */
export function channelScale(x: BigUint64Array, g: BigUint64Array, layout: ChannelLayout, out?: BigUint64Array): BigUint64Array {
  const n = layoutSize(layout);
  expect('channelScale: x', x, n);
  expect('channelScale: per-channel factor', g, layout.channels);
  const accumulate = out !== undefined;
  const o = out ?? allocRing(n);
  expect('channelScale: output', o, n);
  const { outer, channels, inner } = layout;
  for (let b = 0; b < outer; b++) {
    for (let c = 0; c < channels; c++) {
      const gc = g[c]!;
      const start = (b * channels + c) * inner;
      const end = start + inner;
      if (accumulate) for (let i = start; i < end; i++) o[i] = o[i]! + x[i]! * gc;
      else for (let i = start; i < end; i++) o[i] = x[i]! * gc;
    }
  }
  return o;
}

/** Per-channel sums of x * y; with `out`, out += those sums (returns out). */
export function channelDot(x: BigUint64Array, y: BigUint64Array, layout: ChannelLayout, out?: BigUint64Array): BigUint64Array {
  const n = layoutSize(layout);
  expect('channelDot: x', x, n);
  expect('channelDot: y', y, n);
  const o = out ?? new BigUint64Array(layout.channels);
  expect('channelDot: output', o, layout.channels);
  const { outer, channels, inner } = layout;
  for (let b = 0; b < outer; b++) {
    for (let c = 0; c < channels; c++) {
      const start = (b * channels + c) * inner;
      const end = start + inner;
      // Summing into the array element keeps every step a wrapping 64-bit store (no growing BigInt).
      for (let i = start; i < end; i++) o[c] = o[c]! + x[i]! * y[i]!;
    }
  }
  return o;
}
