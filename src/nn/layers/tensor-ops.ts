/**
 * Local (communication-free) rearrangements of shared tensors: zero
 * padding, channel-last flattening, subsampling, per-channel additions.
 * Each party applies them to its own share (zero is shared as 0 + 0), and
 * P2's placeholders only change shape.
 */
import { Shared } from '../../mpc/shared.js';
import type { Padding2d } from '../spec.js';

/** Zero-pad [N, C, H, W] by the given rows and columns. */
export function pad2d(x: Shared, p: Padding2d): Shared {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const oh = h + p.top + p.bottom;
  const ow = w + p.left + p.right;
  if (!x.held) return Shared.placeholder([n, c, oh, ow], x.fracBits);
  const out = new BigUint64Array(n * c * oh * ow);
  for (let plane = 0; plane < n * c; plane++) {
    for (let i = 0; i < h; i++) {
      const src = (plane * h + i) * w;
      out.set(x.share.subarray(src, src + w), (plane * oh + i + p.top) * ow + p.left);
    }
  }
  return new Shared(out, [n, c, oh, ow], x.fracBits);
}

/** [N, C, H, W] -> [N, H * W * C] in tfjs's (h, w, c) order, so Dense weights keep tfjs's row order. */
export function flattenChannelsLast(x: Shared): Shared {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const f = c * h * w;
  if (!x.held) return Shared.placeholder([n, f], x.fracBits);
  const out = new BigUint64Array(n * f);
  const hw = h * w;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const src = (b * c + ch) * hw;
      for (let q = 0; q < hw; q++) out[b * f + q * c + ch] = x.share[src + q]!;
    }
  }
  return new Shared(out, [n, f], x.fracBits);
}

/** ResNet option-A shortcut: x[:, :, ::s, ::s] with `before` zero channels in front and `after` behind. */
export function padShortcut(x: Shared, stride: number, before: number, after: number): Shared {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const oh = Math.ceil(h / stride);
  const ow = Math.ceil(w / stride);
  const oc = c + before + after;
  if (!x.held) return Shared.placeholder([n, oc, oh, ow], x.fracBits);
  const out = new BigUint64Array(n * oc * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const src = (b * c + ch) * h * w;
      const dst = (b * oc + ch + before) * oh * ow;
      for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) out[dst + i * ow + j] = x.share[src + i * stride * w + j * stride]!;
    }
  }
  return new Shared(out, [n, oc, oh, ow], x.fracBits);
}

/**
 * Add a per-channel tensor (shares of [C], same scale) to [N, C, ...] or
 * [N, C]: each party adds its own shares, so a shared bias needs no message.
 */
export function addPerChannel(x: Shared, perChannel: Shared): Shared {
  if (perChannel.fracBits !== x.fracBits) throw new RangeError(`per-channel add: scales differ (${perChannel.fracBits} and ${x.fracBits} fractional bits)`);
  const [n, c] = x.shape as [number, number];
  if (perChannel.size !== c) throw new RangeError(`per-channel add: ${perChannel.size} values for ${c} channels`);
  if (!x.held) return x;
  const inner = x.size / (n * c);
  const out = x.share.slice();
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const v = perChannel.share[ch]!;
      const start = (b * c + ch) * inner;
      const plane = out.subarray(start, start + inner);
      for (let q = 0; q < inner; q++) plane[q] = plane[q]! + v;
    }
  }
  return new Shared(out, x.shape, x.fracBits);
}

/** Broadcast a per-channel [C] tensor over [N, C, ...] (for elementwise products with shared per-channel factors). */
export function expandPerChannel(perChannel: Shared, shape: readonly number[]): Shared {
  const [n, c] = shape as [number, number];
  if (!perChannel.held) return Shared.placeholder([...shape], perChannel.fracBits);
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const out = new BigUint64Array(n * c * inner);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) out.fill(perChannel.share[ch]!, (b * c + ch) * inner, (b * c + ch + 1) * inner);
  return new Shared(out, [...shape], perChannel.fracBits);
}


/** NHWC float images -> NCHW (the ring layout), for the data owner before sharing. */
export function nhwcToNchw(x: ArrayLike<number>, n: number, h: number, w: number, c: number): Float64Array {
  const out = new Float64Array(n * h * w * c);
  for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let ch = 0; ch < c; ch++) {
    out[((b * c + ch) * h + i) * w + j] = x[((b * h + i) * w + j) * c + ch]!;
  }
  return out;
}
