/**
 * Batch normalisation under MPC (seed mpc-cnn-batchnorm-ppoly.txt 3.2,
 * Algorithm 1; PROTOCOLS.md 5), over [N, C, H, W] or [N, C], m = N H W
 * values per channel:
 *
 *   forward (training): mu = sum x / m, d = x - mu, var = sum d^2 / m,
 *     invStd = rsqrt(var + eps) (protocols/sqrt.ts: 2PC from the layer's
 *     public range bound on var + eps, 3PC optionally private),
 *     x_hat = d invStd, y = gamma x_hat + beta. Moving statistics as tfjs:
 *     m <- m - (m - batch) (1 - momentum), with the biased batch variance.
 *   backward: dbeta = sum dy, dgamma = sum(x_hat dy), and since
 *     dx_hat = gamma dy, sum dx_hat = gamma dbeta and
 *     sum(dx_hat x_hat) = gamma dgamma, PROTOCOLS.md 5's
 *     dx = (m dx_hat - sum dx_hat - x_hat sum(dx_hat x_hat)) / (m sigma)
 *     is gamma invStd (dy - dbeta / m - x_hat dgamma / m): three Beaver
 *     rounds (dgamma with gamma invStd, then x_hat dgamma / m, then the
 *     product), all per-channel products (protocols/channel-products.ts).
 *   inference: y = (x - moving mean) gamma rsqrt(moving var + eps) + beta.
 *
 * Cost: sums and 1 / m are local (a public constant, scaleBy); per layer
 * forward one channelDot, one rsqrt of C values, two channelMuls.
 */
import { mul } from '../../../protocols/beaver.js';
import { channelDot, channelMul } from '../../../protocols/channel-products.js';
import { addPublicScalar, sub } from '../../../protocols/linear.js';
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

/** Training forward: y and the cache (x_hat, invStd, updated moving statistics). */
export async function batchNormTrainForward(
  ctx: Context, l: BatchNormSpec, x: Shared, p: BatchNormParams, opts: BatchNormTrainOptions,
): Promise<{ y: Shared; cache: Extract<LayerCache, { kind: 'batchnorm' }> }> {
  const m = perChannelCount(x);
  const mu = await scaleBy(ctx, sumPerChannel(x), 1 / m);
  const d = sub(x, expandPerChannel(mu, x.shape));
  const variance = await scaleBy(ctx, await channelDot(ctx, d, d), 1 / m);
  const invStd = await rsqrt(ctx, addPublicScalar(ctx, variance, l.epsilon), {
    range: l.varianceRange, normalisation: opts.normalisation, ...(opts.iterations !== undefined ? { iterations: opts.iterations } : {}),
  });
  const xHat = await channelMul(ctx, d, invStd);
  const [scaled, meanStep, varStep] = await Promise.all([
    channelMul(ctx, xHat, p.gamma),
    scaleBy(ctx, sub(p.movingMean, mu), 1 - l.momentum),
    scaleBy(ctx, sub(p.movingVariance, variance), 1 - l.momentum),
  ]);
  return {
    y: addPerChannel(scaled, p.beta),
    cache: { kind: 'batchnorm', xHat, invStd, movingMean: sub(p.movingMean, meanStep), movingVariance: sub(p.movingVariance, varStep) },
  };
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
export async function batchNormBackward(ctx: Context, dy: Shared, cache: Extract<LayerCache, { kind: 'batchnorm' }>, gamma: Shared): Promise<BatchNormGrads> {
  const m = perChannelCount(dy);
  const dbeta = sumPerChannel(dy);
  const [dgamma, a] = await Promise.all([channelDot(ctx, cache.xHat, dy), mul(ctx, gamma, cache.invStd)]);
  const [meanDy, meanDg] = await Promise.all([scaleBy(ctx, dbeta, 1 / m), scaleBy(ctx, dgamma, 1 / m)]);
  const inner = sub(sub(dy, expandPerChannel(meanDy, dy.shape)), await channelMul(ctx, cache.xHat, meanDg));
  const dx = await channelMul(ctx, inner, a);
  return { dx, dgamma, dbeta };
}
