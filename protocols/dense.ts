/**
 * Dense (fully connected) layer: y = x W + b with x [batch, in],
 * W [in, out] and b [out], all secret-shared at the same scale.
 * One Beaver matmul round; the bias is added locally after truncation.
 */
import type { Context } from '../src/mpc/context.js';
import { Shared } from '../src/mpc/shared.js';
import { add } from '../src/ring/index.js';
import { matmul } from './beaver.js';

export function dense(ctx: Context, x: Shared, weight: Shared, bias: Shared | null): Promise<Shared> {
  return ctx.call('dense', (c) => denseProtocol(c, x, weight, bias));
}

async function denseProtocol(ctx: Context, x: Shared, weight: Shared, bias: Shared | null): Promise<Shared> {
  const y = await matmul(ctx, x, weight);
  if (!bias) return y;
  const [batch, outDim] = y.shape as [number, number];
  if (bias.size !== outDim) throw new RangeError(`dense: bias of ${bias.size} elements for ${outDim} outputs`);
  if (bias.fracBits !== y.fracBits) throw new RangeError(`dense: bias has ${bias.fracBits} fractional bits, output ${y.fracBits}`);
  if (!y.held) return y;
  const out = y.share;
  for (let r = 0; r < batch; r++) add(out.subarray(r * outDim, (r + 1) * outDim), bias.share, out.subarray(r * outDim, (r + 1) * outDim));
  return new Shared(out, y.shape, y.fracBits);
}
