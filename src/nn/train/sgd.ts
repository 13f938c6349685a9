/**
 * SGD with momentum and L2 weight decay on shared weights, in the order of
 * src/plain/sgd.ts (PyTorch's form, the seed's training):
 *   g' = g + wd w,   v <- mu v + g',   w <- w - lr v.
 * lr, mu and wd are public; each product is one local truncation
 * (scaleBy: the constant carries f + log2(1 / c) fractional bits, so a
 * decay of 5e-4 keeps its relative precision). No communication with local
 * truncation; with dealer truncation one round per product, every
 * parameter's chain in its own call so that they run side by side.
 */
import { add, sub } from '../../../protocols/linear.js';
import type { Context } from '../../mpc/context.js';
import type { Shared } from '../../mpc/shared.js';
import { scaleBy } from './local-ops.js';

export interface SgdSettings {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export function checkSgd(s: SgdSettings): void {
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) throw new RangeError(`SGD: lr must be a finite number > 0, got ${s.lr}`);
  if (!(s.momentum >= 0 && s.momentum < 1)) throw new RangeError(`SGD: momentum must be in [0, 1), got ${s.momentum}`);
  if (!(s.weightDecay >= 0) || !Number.isFinite(s.weightDecay)) throw new RangeError(`SGD: weight decay must be >= 0, got ${s.weightDecay}`);
}

/** One update of every weight; returns the new weights and velocities (same order). */
export async function sgdStep(ctx: Context, weights: Shared[], grads: Shared[], velocities: Shared[], s: SgdSettings): Promise<{ weights: Shared[]; velocities: Shared[] }> {
  checkSgd(s);
  if (grads.length !== weights.length || velocities.length !== weights.length) throw new RangeError(`SGD: ${grads.length} gradients and ${velocities.length} velocities for ${weights.length} weights`);
  const updated = await Promise.all(weights.map((w, i) => ctx.call('sgd', async (c) => {
    const g = s.weightDecay > 0 ? add(grads[i]!, await scaleBy(c, w, s.weightDecay)) : grads[i]!;
    const v = s.momentum > 0 ? add(await scaleBy(c, velocities[i]!, s.momentum), g) : g;
    return { w: sub(w, await scaleBy(c, v, s.lr)), v };
  })));
  return { weights: updated.map((u) => u.w), velocities: updated.map((u) => u.v) };
}
