/**
 * Input sharing, opening and output reveal over additive shares
 * x = x0 + x1 (mod 2^64). P2 holds no shares: it gets placeholders and
 * takes no part in these steps.
 */
import type { Context, HolderId } from '../src/mpc/context.js';
import { ringView } from '../src/mpc/payload.js';
import { Shared } from '../src/mpc/shared.js';
import { add, decode, encode, sub } from '../src/ring/index.js';
import { shapeSize, type Shape } from '../src/ring/tensor.js';

const EMPTY = new BigUint64Array(0);

/**
 * Share a value held by `owner`. Both holders draw the same mask r from
 * their common PRG (k01): the other holder's share is r, the owner's is
 * x - r. No message is needed; r is independent of x, and the owner already
 * knows x. `values` is read on the owner only (pass null elsewhere), and
 * not in a rehearsal (Context.ownsInput).
 * Call it in program order, like any protocol (it draws from ctx's stream).
 */
export function shareInput(ctx: Context, owner: HolderId, values: ArrayLike<number> | null, shape: Shape, fracBits = ctx.fracBits): Shared {
  const n = shapeSize(shape);
  if (ctx.isPlain) return new Shared(encodeChecked(values, n, fracBits), shape, fracBits);
  if (ctx.isHelper) return Shared.placeholder(shape, fracBits);
  const mask = ctx.common.ring(n);
  if (ctx.id !== owner) return new Shared(mask, shape, fracBits);
  // A rehearsal (offline plan) shares zeros: the owner's values are not there.
  const x = ctx.isRehearsal ? new BigUint64Array(n) : encodeChecked(values, n, fracBits);
  return new Shared(sub(x, mask, mask), shape, fracBits);
}

function encodeChecked(values: ArrayLike<number> | null, n: number, fracBits: number): BigUint64Array {
  if (!values) throw new Error('the input owner must supply values');
  if (values.length !== n) throw new RangeError(`input of ${values.length} values does not match the shape's ${n} elements`);
  return encode(values, fracBits);
}

/**
 * Exchange shares with the other holder on c's channel and add: both
 * holders learn the sum. One online round, |share| elements each way.
 * P2 gets an empty array.
 */
export async function open(c: Context, share: BigUint64Array): Promise<BigUint64Array> {
  if (c.isPlain) return share;
  if (c.isHelper) return EMPTY;
  return add(share, await exchange(c, share));
}

/**
 * Send my share to the other holder on c's channel and return theirs (a
 * view on the received payload). Callers that fold the sum into a later
 * loop use this instead of open() to save a pass over memory. Holders only.
 */
export async function exchange(c: Context, share: BigUint64Array): Promise<BigUint64Array> {
  c.send(c.peer, share);
  return ringView(await c.recv(c.peer), share.length, `opening '${c.tag}' from P${c.peer}`);
}

/** Reveal to both holders, as ring elements (P2: empty). */
export function revealRing(ctx: Context, x: Shared): Promise<BigUint64Array> {
  return ctx.call('reveal', (c) => open(c, x.share));
}

/** Reveal to both holders and decode the fixed-point values (P2: empty). */
export async function reveal(ctx: Context, x: Shared): Promise<Float64Array> {
  return decode(await revealRing(ctx, x), x.fracBits);
}

/**
 * Reveal to one holder only (the party entitled to the output): the other
 * holder sends its share, `owner` adds. One message, one round; the other
 * holder and P2 get an empty array.
 */
export function revealRingTo(ctx: Context, x: Shared, owner: HolderId): Promise<BigUint64Array> {
  return ctx.call('revealTo', async (c) => {
    if (c.isPlain) return x.share;
    if (c.isHelper) return EMPTY;
    if (c.id !== owner) {
      c.send(owner, x.share);
      return EMPTY;
    }
    return add(x.share, ringView(await c.recv(c.peer), x.size, `share of the output from P${c.peer}`));
  });
}

/** revealRingTo, decoded (empty on the parties that do not learn it). */
export async function revealTo(ctx: Context, x: Shared, owner: HolderId): Promise<Float64Array> {
  return decode(await revealRingTo(ctx, x, owner), x.fracBits);
}
