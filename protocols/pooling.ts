/**
 * Average pooling (PROTOCOLS.md 7): the window sum is local; the division
 * by k^2 is a public multiply by round(2^f / k^2) and a truncation by f.
 * Input [N, C, H, W], square window `size`, stride = size unless given.
 */
import type { Context } from '../src/mpc/context.js';
import { Shared } from '../src/mpc/shared.js';
import { mulPublicScalar } from './linear.js';
import { truncate } from './truncation.js';

export interface PoolOptions {
  stride?: number;
}

export function poolOutputShape(shape: readonly number[], size: number, stride: number): [number, number, number, number] {
  if (shape.length !== 4) throw new RangeError(`pooling expects [N, C, H, W], got [${shape.join(', ')}]`);
  if (!Number.isInteger(size) || size < 1 || !Number.isInteger(stride) || stride < 1) {
    throw new RangeError(`pooling window ${size} and stride ${stride} must be positive integers`);
  }
  const [n, c, h, w] = shape as [number, number, number, number];
  if (size > h || size > w) throw new RangeError(`pooling window ${size} is larger than the input ${h}x${w}`);
  return [n, c, Math.floor((h - size) / stride) + 1, Math.floor((w - size) / stride) + 1];
}

/** Local sum over each window (no communication). */
export function windowSum(x: Shared, size: number, stride = size): Shared {
  const [n, c, oh, ow] = poolOutputShape(x.shape, size, stride);
  if (!x.held) return Shared.placeholder([n, c, oh, ow], x.fracBits);
  const h = x.shape[2]!;
  const w = x.shape[3]!;
  const src = x.share;
  const out = new BigUint64Array(n * c * oh * ow);
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * h * w;
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        // Accumulate in the typed array: V8 keeps that in 64-bit registers (a BigInt local would allocate).
        for (let di = 0; di < size; di++) {
          const row = base + (i * stride + di) * w + j * stride;
          for (let dj = 0; dj < size; dj++) out[o] = out[o]! + src[row + dj]!;
        }
        o++;
      }
    }
  }
  return new Shared(out, [n, c, oh, ow], x.fracBits);
}

export function avgPool2d(ctx: Context, x: Shared, size: number, opts: PoolOptions = {}): Promise<Shared> {
  return ctx.call('avgPool2d', (c) => {
    return divideByWindow(c, windowSum(x, size, opts.stride ?? size), size);
  });
}

/**
 * sum / size^2 for a window sum (average pooling and its backward). For a
 * power-of-two window (2x2: 4) the sum is read with log2(size^2) more
 * fractional bits and truncated by that many: a value at ~f bits, whose
 * local truncation fails at |x| / 2^64 ~ 2^-46 (protocols/truncation.ts),
 * so it stays local even in dealer mode. Other windows multiply by the
 * public 1 / size^2 at f bits and truncate by f.
 */
export function divideByWindow(c: Context, sum: Shared, size: number): Promise<Shared> {
  const area = size * size;
  const shift = Math.log2(area);
  if (Number.isInteger(shift)) return truncate(c, sum.with(sum.share, sum.fracBits + shift), shift);
  return truncate(c, mulPublicScalar(c, sum, 1 / area), c.fracBits);
}
