/**
 * Backward passes of the linear layers (PROTOCOLS.md 1-2, 7), one Beaver
 * round per product (protocols/gradient-products.ts):
 *   dense   y = x W + b:  dW = x^T dy, db = sum_n dy, dx = dy W^T
 *   conv2d  y = x * w + b: dW = conv2dGradWeight(x, dy), db = sum dy per
 *           channel, dx = conv2dGradInput(dy, w) (symmetric padding only)
 *   avgpool (k x k, stride s): dx = spread(dy) / k^2 (local sum, one
 *           public multiply and truncation, as the forward)
 *   flatten: the inverse reordering (local)
 *   ReLU (3PC truncation ReLU): dx = dy * DReLU bit, one Beaver product
 *           (the bit has 0 fractional bits: no truncation)
 * dx is skipped (null) when the layer's input is the model input.
 */
import { mul } from '../../../protocols/beaver.js';
import { conv2dGradInput, conv2dGradWeight, matmulTransA, matmulTransB } from '../../../protocols/gradient-products.js';
import { divideByWindow } from '../../../protocols/pooling.js';
import type { Context } from '../../mpc/context.js';
import type { Shared } from '../../mpc/shared.js';
import type { LayerSpec } from '../spec.js';
import { sumPerChannel, unflattenChannelsLast, windowSpread } from './local-ops.js';

export interface LinearGrads {
  dx: Shared | null;
  dw: Shared;
  db: Shared | null;
}

export async function denseBackward(ctx: Context, dy: Shared, x: Shared, w: Shared, hasBias: boolean, needDx: boolean): Promise<LinearGrads> {
  const [dw, dx] = await Promise.all([matmulTransA(ctx, x, dy), needDx ? matmulTransB(ctx, dy, w) : Promise.resolve(null)]);
  return { dw, dx, db: hasBias ? sumPerChannel(dy) : null };
}

export async function convBackward(
  ctx: Context, l: Extract<LayerSpec, { kind: 'conv2d' }>, dy: Shared, x: Shared, w: Shared, needDx: boolean,
): Promise<LinearGrads> {
  const opts = { stride: l.stride[0], padding: l.padding.top };
  const [dw, dx] = await Promise.all([
    conv2dGradWeight(ctx, x, dy, w.shape, opts),
    needDx ? conv2dGradInput(ctx, dy, w, x.shape, opts) : Promise.resolve(null),
  ]);
  return { dw, dx, db: l.hasBias ? sumPerChannel(dy) : null };
}

export function avgPoolBackward(ctx: Context, dy: Shared, inShape: readonly number[], size: number, stride: number): Promise<Shared> {
  return ctx.call('avgPool2dBackward', (c) => divideByWindow(c, windowSpread(dy, inShape, size, stride), size));
}

export function flattenBackward(dy: Shared, inShape: readonly number[]): Shared {
  return inShape.length === 4 ? unflattenChannelsLast(dy, inShape.slice(1)) : dy.reshape([...inShape]);
}

export function reluBackward(ctx: Context, dy: Shared, bit: Shared): Promise<Shared> {
  return mul(ctx, dy, bit);
}
