/**
 * Softmax cross-entropy gradient under MPC (PROTOCOLS.md 7): for logits z
 * [N, K] and the data owner's shared one-hot labels y,
 *   dL/dz = (softmax(z) - y) / N
 * for the batch-mean loss (tfjs's softmaxCrossEntropy with its default
 * reduction). The softmax is protocols/softmax.ts (2PC: the 'mean' shift
 * with a public bound on the logits' spread; 3PC: the row max). Nothing is
 * revealed; the loss value itself is not computed.
 */
import { softmax, type SoftmaxOptions } from '../../../protocols/softmax.js';
import { sub } from '../../../protocols/linear.js';
import type { Context } from '../../mpc/context.js';
import type { Shared } from '../../mpc/shared.js';
import { scaleBy } from './local-ops.js';

export function softmaxCrossEntropyGrad(ctx: Context, logits: Shared, onehot: Shared, opts: SoftmaxOptions): Promise<Shared> {
  return ctx.call('softmaxCrossEntropyGrad', async (c) => {
    if (logits.shape.length !== 2) throw new RangeError(`softmax cross-entropy: logits must be [N, K], got [${logits.shape.join(', ')}]`);
    const p = await softmax(c, logits, opts);
    return scaleBy(c, sub(p, onehot), 1 / logits.shape[0]!);
  });
}
