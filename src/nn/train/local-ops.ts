/**
 * Local (communication-free) helpers of the backward passes: per-channel
 * sums, the inverse of the channel-last flatten, the spread of average
 * pooling, zeros, and products with public reals at a precision that does
 * not depend on the constant's size. Each party applies them to its own
 * share; P2's placeholders only change shape.
 */
import { mulPublicScalar } from '../../../protocols/linear.js';
import { truncate } from '../../../protocols/truncation.js';
import type { Context } from '../../mpc/context.js';
import { Shared } from '../../mpc/shared.js';

/** Most fractional bits a public constant is encoded with (c 2^bits stays near 2^f, so the product has the size of an ordinary f x f product). */
const MAX_CONST_BITS = 40;

/**
 * x * c for a public real c, back at x's scale (or with `keepBits` more
 * fractional bits). c is encoded with f + ceil(-log2 |c|) bits (at least f,
 * at most 40), so small constants (1/m of batch norm, a weight decay of
 * 5e-4, a learning rate) keep about f significant bits instead of the 2^-f
 * absolute step of a plain encoding. keepBits matters when x c is itself
 * below a few units of 2^-f (batch norm's per-channel terms over 1/m):
 * rounded to f bits its randomised rounding would be most of its value.
 */
export function scaleBy(ctx: Context, x: Shared, c: number, keepBits = 0): Promise<Shared> {
  if (!Number.isFinite(c)) throw new RangeError(`scaleBy: constant ${c} is not finite`);
  const extra = c === 0 ? 0 : Math.max(0, Math.ceil(-Math.log2(Math.abs(c))));
  const bits = Math.min(MAX_CONST_BITS, ctx.fracBits + extra);
  if (!Number.isInteger(keepBits) || keepBits < 0 || keepBits > bits) throw new RangeError(`scaleBy: keepBits ${keepBits} must be an integer in [0, ${bits}]`);
  return truncate(ctx, mulPublicScalar(ctx, x, c, bits), bits - keepBits);
}

/** Zeros shaped like x (0 + 0 is a sharing of 0). */
export function zerosLike(x: Shared): Shared {
  return x.held ? x.with(new BigUint64Array(x.size)) : x;
}

/** Sum of x [N, C, ...] over every axis but the channel axis 1: [C]. */
export function sumPerChannel(x: Shared): Shared {
  const [n, c] = x.shape as [number, number];
  if (!x.held) return Shared.placeholder([c], x.fracBits);
  const inner = x.size / (n * c);
  const out = new BigUint64Array(c);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const start = (b * c + ch) * inner;
      for (let q = start; q < start + inner; q++) out[ch] = out[ch]! + x.share[q]!;
    }
  }
  return new Shared(out, [c], x.fracBits);
}

/** Sum of all elements: [1] (a coefficient shared by every channel). */
export function sumAll(x: Shared): Shared {
  if (!x.held) return Shared.placeholder([1], x.fracBits);
  const out = new BigUint64Array(1);
  for (let q = 0; q < x.size; q++) out[0] = out[0]! + x.share[q]!;
  return new Shared(out, [1], x.fracBits);
}

/** A [1] tensor repeated to [C] (a shared PPoly coefficient used per channel). */
export function repeatScalar(x: Shared, c: number): Shared {
  if (x.size !== 1) throw new RangeError(`repeatScalar: expected one value, got [${x.shape.join(', ')}]`);
  if (!x.held) return Shared.placeholder([c], x.fracBits);
  return new Shared(new BigUint64Array(c).fill(x.share[0]!), [c], x.fracBits);
}

/** Inverse of flattenChannelsLast: [N, H * W * C] in (h, w, c) order -> [N, C, H, W]. */
export function unflattenChannelsLast(x: Shared, chw: readonly number[]): Shared {
  const [c, h, w] = chw as [number, number, number];
  const n = x.shape[0]!;
  const shape = [n, c, h, w];
  if (!x.held) return Shared.placeholder(shape, x.fracBits);
  const f = c * h * w;
  const hw = h * w;
  const out = new BigUint64Array(n * f);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const dst = (b * c + ch) * hw;
      for (let q = 0; q < hw; q++) out[dst + q] = x.share[b * f + q * c + ch]!;
    }
  }
  return new Shared(out, shape, x.fracBits);
}

/**
 * Transpose of the window sum of average pooling: every input position
 * gets the sum of the output gradients of the windows that contain it
 * ([N, C, Ho, Wo] -> inShape [N, C, H, W]); the 1 / k^2 is applied after.
 */
export function windowSpread(dy: Shared, inShape: readonly number[], size: number, stride: number): Shared {
  const [n, c, h, w] = inShape as [number, number, number, number];
  const [, , oh, ow] = dy.shape as [number, number, number, number];
  if (!dy.held) return Shared.placeholder([...inShape], dy.fracBits);
  const out = new BigUint64Array(n * c * h * w);
  for (let plane = 0; plane < n * c; plane++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const g = dy.share[(plane * oh + i) * ow + j]!;
        for (let di = 0; di < size; di++) {
          const row = plane * h * w + (i * stride + di) * w + j * stride;
          for (let dj = 0; dj < size; dj++) out[row + dj] = out[row + dj]! + g;
        }
      }
    }
  }
  return new Shared(out, [...inShape], dy.fracBits);
}
