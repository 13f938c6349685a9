/**
 * PPoly with learnable coefficients under MPC (seed
 * mpc-cnn-batchnorm-ppoly.txt 3.4.1; PROTOCOLS.md 6):
 *   p(x) = sum_k c_k x^k, c_k per channel ([C]) or one for the layer ([1]).
 * forward: x^2 .. x^d by products of masked operands (protocols/masked.ts:
 *   x, x^2, .. opened once each, every product free online, one truncation
 *   per power; the one-opening power tuple of protocols/powers.ts forms
 *   x^3 at 13 bits, about 24 ulp for |x| <= 1, too coarse for the post-BN
 *   inputs of a whole epoch), then sum_k c_k x^k at 2f bits, truncated once.
 * backward: dc_0 = sum dy, dc_k = sum(dy x^k) (per-channel dot products,
 *   summed over channels for a shared coefficient), dx = dy p'(x),
 *   p'(x) = sum_k k c_k x^(k-1) at 2f bits: dy and p'(x) are the only
 *   full-size openings (13 openings + truncations per layer before masking,
 *   3 now; forward 11 -> 6 for degree 3).
 * A fixed polynomial (public coefficients, PolynomialActivation) has the
 * same forward and dx, but every c_k x^k is a local multiplication by a
 * public scalar: the terms are summed first and truncated once, so the
 * forward costs the power chain and one truncation, p'(x) one truncation
 * and dx one Beaver product; no coefficient gradients.
 */
import { mul } from '../../../protocols/beaver.js';
import { maskedChannelDot, maskedChannelMul } from '../../../protocols/channel-products.js';
import { mask, maskedMul, type Masked } from '../../../protocols/masked.js';
import { add, addPublicScalar, liftFracBits, mulPublicInt, mulPublicScalar } from '../../../protocols/linear.js';
import { truncate } from '../../../protocols/truncation.js';
import type { Context } from '../../mpc/context.js';
import type { Shared } from '../../mpc/shared.js';
import { addPerChannel, expandPerChannel } from '../layers/tensor-ops.js';
import { repeatScalar, scaleBy, sumAll, sumPerChannel } from './local-ops.js';

/** x, x^2, ..., x^d at x's scale, and the masked (opened once, protocols/masked.ts) ones among them. */
export interface PowerChain {
  powers: Shared[];
  /** masks[k] masks powers[k]: every power, or all but the top one (see powerChain). */
  masks: Masked[];
}

/**
 * x^2 = x x, x^3 = x^2 x, ... from masked operands: each power is opened
 * once and truncated once. maskTop also masks x^d (PPoly multiplies it by
 * c_d and by dy; a fixed polynomial only scales it by a public constant).
 */
export async function powerChain(ctx: Context, x: Shared, degree: number, maskTop = true): Promise<PowerChain> {
  const powers = [x];
  const masks: Masked[] = [];
  for (let k = 1; k <= degree; k++) {
    if (k < degree || maskTop) masks.push(await mask(ctx, powers[k - 1]!));
    if (k < degree) powers.push(await truncate(ctx, await maskedMul(ctx, masks[k - 1]!, masks[0]!)));
  }
  return { powers, masks };
}

function perChannel(c: Shared, channels: number): Shared {
  return c.size === 1 && channels !== 1 ? repeatScalar(c, channels) : c;
}

/** p(x) from x's masked powers and the shared coefficients c_0 .. c_d: the terms summed at 2f bits, one truncation. */
export async function ppolyForward(ctx: Context, powers: Masked[], coefficients: Shared[]): Promise<Shared> {
  const x = powers[0]!.value;
  const channels = x.shape[1]!;
  // Calls are made in program order on every party (src/mpc/context.ts): all masks, then all products.
  const mc = await Promise.all(coefficients.slice(1).map((c) => mask(ctx, perChannel(c, channels))));
  const terms = await Promise.all(powers.map((p, k) => maskedChannelMul(ctx, p, mc[k]!)));
  return addPerChannel(await truncate(ctx, terms.reduce((a, b) => add(a, b))), perChannel(coefficients[0]!, channels));
}

export interface PPolyGrads {
  dx: Shared;
  /** dc_0 .. dc_d, shaped like the coefficients. */
  dc: Shared[];
}

/**
 * dc_k = sum(dy x^k) and dx = dy p'(x) from the forward's masked powers:
 * dy and p'(x) (kept at 2f bits) are the only full-size openings.
 */
export async function ppolyBackward(ctx: Context, dy: Shared, powers: Masked[], coefficients: Shared[]): Promise<PPolyGrads> {
  const channels = dy.shape[1]!;
  const shared = coefficients[0]!.size === 1 && channels !== 1;
  const reduce = (g: Shared): Shared => (shared ? sumAll(g) : g);
  const f = dy.fracBits;
  // Calls in program order on every party (src/mpc/context.ts): one round of masks (dy and the k c_k), then the products.
  const [mdy, ...kc] = await Promise.all([dy, ...coefficients.slice(2).map((c, j) => perChannel(mulPublicInt(c, BigInt(j + 2)), channels))].map((t) => mask(ctx, t)));
  const dots = await Promise.all(powers.map((p) => maskedChannelDot(ctx, mdy!, p)));
  // p'(x) = c_1 + sum_{k >= 2} k c_k x^(k-1), at 2f bits: c_1 shifted up, the products untruncated.
  const c1 = expandPerChannel(perChannel(coefficients[1]!, channels), dy.shape);
  let slope = liftFracBits(c1, f);
  for (const t of await Promise.all(kc.map((m, j) => maskedChannelMul(ctx, powers[j]!, m)))) slope = add(slope, t);
  const [dx, ...dc] = await Promise.all([
    ctx.call('dx', async (c) => truncate(c, await maskedMul(c, mdy!, await mask(c, slope)), 2 * f)),
    ...dots.map((d) => truncate(ctx, d)),
  ]);
  return { dx: dx!, dc: [reduce(sumPerChannel(dy)), ...dc.map(reduce)] };
}

/** Most fractional bits of the public coefficients (as local-ops' scaleBy). */
const MAX_CONST_BITS = 40;

/**
 * sum_k c_k t_k for public reals c_k and shared terms t_k at x's scale,
 * plus a public c0: the c_k are encoded with f + ceil(-log2 max |c_k|)
 * fractional bits (so max |c_k| 2^bits stays near 2^f and the products the
 * size of an ordinary f x f product; small coefficients keep more of their
 * digits than at f bits), summed locally and truncated once.
 */
async function publicCombination(ctx: Context, terms: Shared[], c: readonly number[], c0: number): Promise<Shared> {
  const big = Math.max(...c.map(Math.abs));
  const bits = Math.min(MAX_CONST_BITS, ctx.fracBits + (big > 0 ? Math.max(0, Math.ceil(-Math.log2(big))) : 0));
  const sum = terms.map((t, k) => mulPublicScalar(ctx, t, c[k]!, bits)).reduce((a, b) => add(a, b));
  return addPublicScalar(ctx, await truncate(ctx, sum, bits), c0);
}

/** p(x) = c_0 + sum c_k x^k with public coefficients, from x's powers (powerChain). */
export function fixedPolyForward(ctx: Context, powers: Shared[], coefficients: readonly number[]): Promise<Shared> {
  return publicCombination(ctx, powers, coefficients.slice(1), coefficients[0]!);
}

/** dx = dy * p'(x), p'(x) = c_1 + sum_{k >= 2} k c_k x^(k-1), public c_k. */
export async function fixedPolyBackward(ctx: Context, dy: Shared, powers: Shared[], coefficients: readonly number[]): Promise<Shared> {
  const degree = coefficients.length - 1;
  const slopeCoefficients = Array.from({ length: degree - 1 }, (_, j) => (j + 2) * coefficients[j + 2]!);
  if (degree < 2) return scaleBy(ctx, dy, coefficients[1]!); // a line: p' is public
  const slope = await publicCombination(ctx, powers.slice(0, degree - 1), slopeCoefficients, coefficients[1]!);
  return mul(ctx, dy, slope);
}
