/**
 * Products of masked operands: open x - a once, multiply x by many others
 * with no further online traffic (PROTOCOLS.md 2, Beaver's trick with the
 * masked operand reused, as SecureML reuses its masked data matrix).
 *
 * mask(x): each holder draws its share of a fresh uniform a from the stream
 *   it shares with the dealer under this call's label (no dealer message)
 *   and opens eps = x - a: |x| elements each way, one round. eps is uniform
 *   whatever x is, and a is never used for another value, so reusing eps
 *   in any number of products reveals nothing more.
 * product(mx, my) for any bilinear op of src/mpc/bilinear-kinds.ts: the
 *   dealer rebuilds a and b from their labels (it holds both holders'
 *   streams) and deals c = op(a, b) (the 'masked' correlation: P0 gets
 *   |out| elements, P1 draws its share); then, with delta = y - b,
 *     z_i = c_i + op(eps, y_i - [i = 0] delta) + op(x_i, delta),
 *   exactly as protocols/beaver.ts combines, with nothing sent online.
 *   op(x, x) (a square) is product(mx, mx).
 *
 * Where a layer multiplies the same tensor several times (PPoly's x by x,
 * x^2 by x and x^k by c_k; batch norm's d by d and by its scale), this
 * opens each tensor once instead of once per product. Results of
 * product() are at x.f + y.f bits; sum several before one truncation.
 * The plaintext context runs op(x, y) directly (eps = x, no mask).
 */
import type { BilinearSpec } from '../src/mpc/bilinear-kinds.js';
import type { Context } from '../src/mpc/context.js';
import { Shared } from '../src/mpc/shared.js';
import { sub } from '../src/ring/index.js';
import type { Shape } from '../src/ring/tensor.js';
import { bindOperands } from './beaver.js';
import { open } from './sharing.js';

/** A shared value with its opened x - a (and the label the dealer rebuilds a from). */
export interface Masked {
  value: Shared;
  /** x - a, public to both holders (x itself in the plaintext context; empty on P2). */
  eps: BigUint64Array;
  label: string;
}

/** Open x - a for a fresh mask a: one round, |x| elements each way. */
export function mask(ctx: Context, x: Shared): Promise<Masked> {
  return ctx.call('mask', async (c) => {
    if (c.isPlain) return { value: x, eps: x.share, label: '' };
    if (c.isHelper || x.size === 0) return { value: x, eps: new BigUint64Array(0), label: c.tag };
    const a = c.dealer.mask(x.size, c.tag);
    const eps = await open(c, sub(x.share, a, a));
    return { value: x, eps, label: c.tag };
  });
}

/**
 * op(x, y) of two masked operands (the op's operand sizes; shapes may
 * differ), at x.f + y.f fractional bits, untruncated; 0 rounds online.
 */
export function maskedProduct(ctx: Context, name: string, spec: BilinearSpec, mx: Masked, my: Masked, outShape?: Shape): Promise<Shared> {
  const x = mx.value;
  const y = my.value;
  const { op, outShape: shape } = bindOperands(name, spec, x, y, outShape);
  const fracBits = x.fracBits + y.fracBits;
  return ctx.call(name, async (c) => {
    if (c.isPlain || x.size === 0 || y.size === 0) return new Shared(op.apply(x.share, y.share), shape, fracBits);
    if (c.isHelper) return Shared.placeholder(shape, fracBits);
    const corr = await c.correlation({ kind: 'masked', op: spec, x: { label: mx.label, n: x.size }, y: { label: my.label, n: y.size } });
    const out = corr.output;
    op.apply(mx.eps, c.holderId === 0 ? sub(y.share, my.eps) : y.share, out);
    op.apply(x.share, my.eps, out);
    return new Shared(out, shape, fracBits);
  });
}

/** Elementwise x * y of masked operands of the same size (untruncated). */
export function maskedMul(ctx: Context, mx: Masked, my: Masked): Promise<Shared> {
  return maskedProduct(ctx, 'maskedMul', { kind: 'hadamard', n: mx.value.size }, mx, my, mx.value.shape);
}
