/**
 * Batch normalisation under MPC (seed mpc-cnn-batchnorm-ppoly.txt 3.2,
 * Algorithm 1; PROTOCOLS.md 5), over [N, C, H, W] or [N, C], m = N H W
 * values per channel:
 *
 *   forward (training): mu = sum x / m, d = x - mu, var = sum d^2 / m,
 *     invStd = rsqrt(var + eps) (protocols/sqrt.ts: 2PC from the layer's
 *     public range bound on var + eps, 3PC optionally private),
 *     y = gamma x_hat + beta = d scale + beta with scale = gamma invStd
 *     (C values). Moving statistics as tfjs: m <- m - (m - batch)
 *     (1 - momentum), with the biased batch variance.
 *   backward: dbeta = sum dy, dgamma = sum(x_hat dy) = invStd sum(d dy),
 *     and since dx_hat = gamma dy, sum dx_hat = gamma dbeta and
 *     sum(dx_hat x_hat) = gamma dgamma, PROTOCOLS.md 5's
 *     dx = (m dx_hat - sum dx_hat - x_hat sum(dx_hat x_hat)) / (m sigma)
 *     is scale dy - scale dbeta / m - d (scale invStd dgamma / m).
 *   Full-size tensors are opened once each (protocols/masked.ts): d in the
 *     forward (for d d and d scale, and again in the backward), dy in the
 *     backward (for d dy and dy scale); every other product is over C
 *     values. Per layer: forward 1 opening + 1 truncation of full size,
 *     backward the same (before masking: 4 + 2 and 4 + 2).
 *   inference: y = (x - moving mean) gamma rsqrt(moving var + eps) + beta.
 *
 * Sums and 1 / m are local (a public constant, scaleBy).
 */
import { mul } from '../../../protocols/beaver.js';
import { channelMul, maskedChannelDot, maskedChannelMul } from '../../../protocols/channel-products.js';
import { mask } from '../../../protocols/masked.js';
import { truncate } from '../../../protocols/truncation.js';
import { addPublicScalar, liftFracBits, sub } from '../../../protocols/linear.js';
import { rsqrt } from '../../../protocols/sqrt.js';
import type { Context } from '../../mpc/context.js';
import type { Shared } from '../../mpc/shared.js';
import { addPerChannel, expandPerChannel } from '../layers/tensor-ops.js';
import type { LayerSpec } from '../spec.js';
import { scaleBy, sumPerChannel } from './local-ops.js';
import type { BatchNormTrainOptions, LayerCache } from './tape.js';

export type BatchNormSpec = Extract<LayerSpec, { kind: 'batchnorm' }>;

export interface BatchNormParams {
  gamma: Shared;
  beta: Shared;
  movingMean: Shared;
  movingVariance: Shared;
}

function perChannelCount(x: Shared): number {
  return x.size / x.shape[1]!;
}

/** Training forward: y and the cache (masked d and scale, invStd, updated moving statistics). */
export async function batchNormTrainForward(
  ctx: Context, l: BatchNormSpec, x: Shared, p: BatchNormParams, opts: BatchNormTrainOptions,
): Promise<{ y: Shared; cache: Extract<LayerCache, { kind: 'batchnorm' }> }> {
  const m = perChannelCount(x);
  const mu = await scaleBy(ctx, sumPerChannel(x), 1 / m);
  const d = await mask(ctx, sub(x, expandPerChannel(mu, x.shape)));
  const variance = await scaleBy(ctx, await truncate(ctx, await maskedChannelDot(ctx, d, d)), 1 / m);
  const invStd = await rsqrt(ctx, addPublicScalar(ctx, variance, l.epsilon), {
    range: l.varianceRange, normalisation: opts.normalisation, ...(opts.iterations !== undefined ? { iterations: opts.iterations } : {}),
  });
  const [scale, meanStep, varStep] = await Promise.all([
    ctx.call('scale', async (c) => mask(c, await mul(c, invStd, p.gamma))),
    scaleBy(ctx, sub(p.movingMean, mu), 1 - l.momentum),
    scaleBy(ctx, sub(p.movingVariance, variance), 1 - l.momentum),
  ]);
  // y = gamma (d invStd) + beta = d scale + beta: one product of full size.
  const y = addPerChannel(await truncate(ctx, await maskedChannelMul(ctx, d, scale)), p.beta);
  return { y, cache: { kind: 'batchnorm', d, scale, invStd, movingMean: sub(p.movingMean, meanStep), movingVariance: sub(p.movingVariance, varStep) } };
}

/** Inference forward from the moving statistics. */
export async function batchNormInference(ctx: Context, l: BatchNormSpec, x: Shared, p: BatchNormParams): Promise<Shared> {
  const invStd = await rsqrt(ctx, addPublicScalar(ctx, p.movingVariance, l.epsilon), { range: l.varianceRange, normalisation: 'public' });
  const scale = await mul(ctx, invStd, p.gamma);
  const y = await channelMul(ctx, sub(x, expandPerChannel(p.movingMean, x.shape)), scale);
  return addPerChannel(y, p.beta);
}

export interface BatchNormGrads {
  dx: Shared;
  dgamma: Shared;
  dbeta: Shared;
}

/** Backward (see the header). */
export async function batchNormBackward(ctx: Context, dy: Shared, cache: Extract<LayerCache, { kind: 'batchnorm' }>): Promise<BatchNormGrads> {
  const m = perChannelCount(dy);
  const { d, scale, invStd } = cache;
  const dbeta = sumPerChannel(dy);
  const mdy = await mask(ctx, dy);
  // dgamma = sum(x_hat dy) = invStd sum(d dy)
  const dgamma = await mul(ctx, invStd, await truncate(ctx, await maskedChannelDot(ctx, d, mdy)));
  // dx = scale dy - scale dbeta / m - d (scale invStd dgamma / m): the two full-size products reuse the masks of dy, scale and d.
  // The per-channel terms over m (1e5 values here) are ~0.1 ulp at f bits: rounded to f bits, randomly up or down,
  // each would be wrong by ~10x for a whole channel at once, an error that lines up with d and x and swamped
  // the conv weights' gradient (measured 1.45 against 0.29 at step 1). So they keep 2f fractional bits and
  // dx is summed at 3f, truncated once.
  // Each branch is its own call, so its steps get the same paths on every party (src/mpc/context.ts).
  const f = dy.fracBits;
  const [shift, slope] = await Promise.all([
    ctx.call('shift', async (c) => scaleBy(c, await mul(c, scale.value, dbeta), 1 / m, f)),
    ctx.call('slope', async (c) => mask(c, await scaleBy(c, await mul(c, await mul(c, scale.value, invStd), dgamma), 1 / m, f))),
  ]);
  const [a, b] = await Promise.all([maskedChannelMul(ctx, mdy, scale), maskedChannelMul(ctx, d, slope)]);
  const dx = await truncate(ctx, sub(sub(liftFracBits(a, f), b), liftFracBits(expandPerChannel(shift, dy.shape), f)), 2 * f);
  return { dx, dgamma, dbeta };
}
