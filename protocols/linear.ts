/**
 * Linear operations: local on shares, no communication. Public constants
 * are added by P0 only, so that the sum of shares moves by the constant once.
 * On P2's placeholders (empty shares) every op is an empty op.
 */
import type { Context } from '../src/mpc/context.js';
import { assertSameShape, Shared } from '../src/mpc/shared.js';
import { add as ringAdd, addScalar, encode, encodeScalar, mul as ringMul, mulScalar, neg as ringNeg, sub as ringSub } from '../src/ring/index.js';

function assertSameScale(what: string, x: Shared, y: Shared): void {
  if (x.fracBits !== y.fracBits) throw new RangeError(`${what}: fixed-point scales differ (${x.fracBits} and ${y.fracBits} fractional bits)`);
}

export function add(x: Shared, y: Shared): Shared {
  assertSameShape('add', x.shape, y.shape);
  assertSameScale('add', x, y);
  return x.with(ringAdd(x.share, y.share));
}

export function sub(x: Shared, y: Shared): Shared {
  assertSameShape('sub', x.shape, y.shape);
  assertSameScale('sub', x, y);
  return x.with(ringSub(x.share, y.share));
}

export function neg(x: Shared): Shared {
  return x.with(ringNeg(x.share));
}

/** x + c for a public scalar c (encoded at x's scale). */
export function addPublicScalar(ctx: Context, x: Shared, c: number): Shared {
  if (ctx.id !== 0) return x.with(x.share.slice());
  return x.with(addScalar(x.share, encodeScalar(c, x.fracBits)));
}

/** x + c for a public tensor c of x's shape (encoded at x's scale). */
export function addPublic(ctx: Context, x: Shared, c: ArrayLike<number>): Shared {
  if (c.length !== x.size) throw new RangeError(`addPublic: ${c.length} constants for ${x.size} elements`);
  if (ctx.id !== 0) return x.with(x.share.slice());
  return x.with(ringAdd(x.share, encode(c, x.fracBits)));
}

/** The same value with `bits` more fractional bits (times 2^bits, exact): to add it to products before their one truncation. */
export function liftFracBits(x: Shared, bits: number): Shared {
  return x.with(mulScalar(x.share, 1n << BigInt(bits)), x.fracBits + bits);
}

/** Multiply by a public integer (no change of scale, no truncation needed). */
export function mulPublicInt(x: Shared, k: bigint): Shared {
  return x.with(mulScalar(x.share, k));
}

/**
 * Multiply by a public real scalar encoded with `fracBits` bits (default
 * the context's f): the scale grows by that many bits; truncate afterwards.
 */
export function mulPublicScalar(ctx: Context, x: Shared, c: number, fracBits = ctx.fracBits): Shared {
  return x.with(mulScalar(x.share, encodeScalar(c, fracBits)), x.fracBits + fracBits);
}

/** Elementwise product with a public tensor encoded at `fracBits`; scale grows likewise. */
export function mulPublic(ctx: Context, x: Shared, c: ArrayLike<number>, fracBits = ctx.fracBits): Shared {
  if (c.length !== x.size) throw new RangeError(`mulPublic: ${c.length} constants for ${x.size} elements`);
  if (!x.held) return x.with(x.share, x.fracBits + fracBits);
  return x.with(ringMul(x.share, encode(c, fracBits)), x.fracBits + fracBits);
}
