/**
 * Per-channel products of batch norm (PROTOCOLS.md 5), both operands
 * shared, one Beaver round each over their bilinear kinds
 * (src/mpc/bilinear-kinds.ts):
 *
 *   channelMul(x, g): x [N, C, ...] times g [C] broadcast over the channel
 *     axis: gamma x_hat forward, gamma dy backward. |x| + C elements online.
 *   channelDot(x, y): per-channel sums of x y, [C]: dgamma = sum(x_hat dy),
 *     and sum(dx_hat x_hat) in dx. 2 |x| elements online, but the dealer
 *     sends only C and one truncation covers C values, not |x|.
 *
 * Results are truncated by the second factor's fractional bits unless
 * { truncate: false }. The masked forms take operands opened once by
 * protocols/masked.ts and cost nothing online; they return untruncated
 * products (x.f + y.f bits), so a layer can sum several before truncating.
 */
import type { Context } from '../src/mpc/context.js';
import { assertSameShape, type Shared } from '../src/mpc/shared.js';
import { channelLayout, formatShape } from '../src/ring/index.js';
import { beaverProduct, type ProductOptions } from './beaver.js';
import { maskedProduct, type Masked } from './masked.js';

export interface ChannelOptions extends ProductOptions {
  /** The channel axis of x (default 1: NCHW and [N, C]). */
  axis?: number;
}

/** x * g[c] for every element of channel c; the result has x's shape. */
export async function channelMul(ctx: Context, x: Shared, g: Shared, opts: ChannelOptions = {}): Promise<Shared> {
  const layout = factorLayout(x, g, opts.axis ?? 1);
  return beaverProduct(ctx, 'channelMul', { kind: 'channelMul', ...layout }, x, g, { ...opts, outShape: x.shape });
}

/** sum of x * y over every axis but the channel axis: [C]. */
export async function channelDot(ctx: Context, x: Shared, y: Shared, opts: ChannelOptions = {}): Promise<Shared> {
  assertSameShape('channelDot', x.shape, y.shape);
  const layout = channelLayout(x.shape, opts.axis ?? 1);
  return beaverProduct(ctx, 'channelDot', { kind: 'channelDot', ...layout }, x, y, opts);
}

/** channelMul of masked operands, untruncated. */
export function maskedChannelMul(ctx: Context, mx: Masked, mg: Masked): Promise<Shared> {
  return maskedProduct(ctx, 'channelMul', { kind: 'channelMul', ...factorLayout(mx.value, mg.value, 1) }, mx, mg, mx.value.shape);
}

/** x's [outer, C, inner] layout, checking that g is one factor per channel. */
function factorLayout(x: Shared, g: Shared, axis: number): ReturnType<typeof channelLayout> {
  const layout = channelLayout(x.shape, axis);
  if (g.shape.length !== 1 || g.size !== layout.channels) {
    throw new RangeError(`channelMul: per-channel factor ${formatShape(g.shape)} for ${layout.channels} channels of ${formatShape(x.shape)}`);
  }
  return layout;
}

/** channelDot of masked operands, untruncated: [C]. */
export function maskedChannelDot(ctx: Context, mx: Masked, my: Masked): Promise<Shared> {
  assertSameShape('channelDot', mx.value.shape, my.value.shape);
  return maskedProduct(ctx, 'channelDot', { kind: 'channelDot', ...channelLayout(mx.value.shape, 1) }, mx, my);
}
