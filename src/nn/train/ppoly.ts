/**
 * PPoly with learnable coefficients under MPC (seed
 * mpc-cnn-batchnorm-ppoly.txt 3.4.1; PROTOCOLS.md 6):
 *   p(x) = sum_k c_k x^k, c_k per channel ([C]) or one for the layer ([1]).
 * forward: x^2 .. x^d by Beaver square / mul at f fractional bits (one
 *   round per step of the chain: d = 3 costs 2; the one-opening power tuple
 *   of protocols/powers.ts forms x^3 at 13 bits, about 24 ulp for |x| <= 1
 *   and wrapping with probability |x|^3 2^-24 per element, too coarse for
 *   the post-BN inputs of a whole epoch), then c_k x^k as per-channel
 *   Beaver products, all in one round.
 * backward: dc_0 = sum dy, dc_k = sum(dy x^k) (per-channel dot products,
 *   summed over channels for a shared coefficient),
 *   dx = dy * p'(x), p'(x) = sum_k k c_k x^(k-1): one round for the dots and
 *   p', one for the product.
 */
import { mul, square } from '../../../protocols/beaver.js';
import { channelDot, channelMul } from '../../../protocols/channel-products.js';
import { add, mulPublicInt } from '../../../protocols/linear.js';
import type { Context } from '../../mpc/context.js';
import type { Shared } from '../../mpc/shared.js';
import { addPerChannel, expandPerChannel } from '../layers/tensor-ops.js';
import { repeatScalar, sumAll, sumPerChannel } from './local-ops.js';

/** x, x^2, ..., x^d at x's scale. */
export async function powerChain(ctx: Context, x: Shared, degree: number): Promise<Shared[]> {
  const out = [x];
  if (degree >= 2) out.push(await square(ctx, x));
  for (let k = 3; k <= degree; k++) out.push(await mul(ctx, out[k - 2]!, x));
  return out;
}

function perChannel(c: Shared, channels: number): Shared {
  return c.size === 1 && channels !== 1 ? repeatScalar(c, channels) : c;
}

/** p(x) from x's powers and the shared coefficients c_0 .. c_d. */
export async function ppolyForward(ctx: Context, powers: Shared[], coefficients: Shared[]): Promise<Shared> {
  const x = powers[0]!;
  const channels = x.shape[1]!;
  const terms = await Promise.all(powers.map((p, k) => channelMul(ctx, p, perChannel(coefficients[k + 1]!, channels))));
  return addPerChannel(terms.reduce((a, b) => add(a, b)), perChannel(coefficients[0]!, channels));
}

export interface PPolyGrads {
  dx: Shared;
  /** dc_0 .. dc_d, shaped like the coefficients. */
  dc: Shared[];
}

export async function ppolyBackward(ctx: Context, dy: Shared, powers: Shared[], coefficients: Shared[]): Promise<PPolyGrads> {
  const channels = dy.shape[1]!;
  const shared = coefficients[0]!.size === 1 && channels !== 1;
  const reduce = (g: Shared): Shared => (shared ? sumAll(g) : g);
  const degree = coefficients.length - 1;
  // One round: every dc_k and every term k c_k x^(k-1) of p'(x) (k >= 2).
  const dots = powers.map((p) => channelDot(ctx, dy, p));
  const slopeTerms = powers.slice(0, degree - 1).map((p, j) => channelMul(ctx, p, perChannel(mulPublicInt(coefficients[j + 2]!, BigInt(j + 2)), channels)));
  const [dotValues, slopeValues] = await Promise.all([Promise.all(dots), Promise.all(slopeTerms)]);
  let slope = expandPerChannel(perChannel(coefficients[1]!, channels), dy.shape);
  for (const t of slopeValues) slope = add(slope, t);
  const dx = await mul(ctx, dy, slope);
  return { dx, dc: [reduce(sumPerChannel(dy)), ...dotValues.map(reduce)] };
}
