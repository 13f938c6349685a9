/**
 * Input sharing, opening and output reveal over additive shares
 * x = x0 + x1 (mod 2^64).
 */
import type { Context, HolderId } from '../src/mpc/context.js';
import { ringView } from '../src/mpc/payload.js';
import { Shared } from '../src/mpc/shared.js';
import { add, decode, encode, sub } from '../src/ring/index.js';
import { shapeSize, type Shape } from '../src/ring/tensor.js';

/**
 * Share a value held by `owner`. Both holders draw the same mask r from
 * their common PRG (k01): the other holder's share is r, the owner's is
 * x - r. No message is needed; r is independent of x, and the owner already
 * knows x. `values` is read on the owner only (pass null elsewhere).
 */
export function shareInput(ctx: Context, owner: HolderId, values: ArrayLike<number> | null, shape: Shape, fracBits = ctx.fracBits): Shared {
  const n = shapeSize(shape);
  if (ctx.isPlain) return new Shared(encodeChecked(values, n, fracBits), shape, fracBits);
  const mask = ctx.common.ring(n);
  if (ctx.id !== owner) return new Shared(mask, shape, fracBits);
  return new Shared(sub(encodeChecked(values, n, fracBits), mask, mask), shape, fracBits);
}

function encodeChecked(values: ArrayLike<number> | null, n: number, fracBits: number): BigUint64Array {
  if (!values) throw new Error('the input owner must supply values');
  if (values.length !== n) throw new RangeError(`input of ${values.length} values does not match the shape's ${n} elements`);
  return encode(values, fracBits);
}

/**
 * Exchange shares with the other holder and add: both learn the sum.
 * One online round, |share| elements each way.
 */
export async function open(ctx: Context, tag: string, share: BigUint64Array): Promise<BigUint64Array> {
  if (ctx.isPlain) return share;
  return add(share, await exchange(ctx, tag, share));
}

/**
 * Send my share to the other holder and return theirs (a view on the
 * received payload). Callers that fold the sum into a later loop use this
 * instead of open() to save a pass over memory. Two-party only.
 */
export async function exchange(ctx: Context, tag: string, share: BigUint64Array): Promise<BigUint64Array> {
  ctx.mesh.send(ctx.peer, tag, share);
  const msg = await ctx.mesh.recv(ctx.peer, tag);
  return ringView(msg.payload, share.length, `opening '${tag}' from P${ctx.peer}`);
}

/** Reveal to both holders, as ring elements. */
export function revealRing(ctx: Context, x: Shared): Promise<BigUint64Array> {
  return ctx.section('reveal', () => open(ctx, 'reveal', x.share));
}

/** Reveal to both holders and decode the fixed-point values. */
export async function reveal(ctx: Context, x: Shared): Promise<Float64Array> {
  return decode(await revealRing(ctx, x), x.fracBits);
}
