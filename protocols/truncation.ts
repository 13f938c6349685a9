/**
 * Truncation of fixed-point shares by d bits (PROTOCOLS.md 3).
 *
 * local (SecureML): P0 takes x0 >>arith d, P1 takes -((-x1) >>arith d).
 *   The result is floor(x / 2^d) + e, e in {0, 1}, unless the shares wrap:
 *   with x0 uniform, that happens with probability exactly |x| / 2^64
 *   (<= 2^(lx - 64) for |x| < 2^lx), and then the error is ~2^(64 - d).
 *   Shares are re-randomised with a common mask first so that failures are
 *   independent between calls, unless the caller says they are fresh.
 * dealer: the dealer supplies ([r], [r >> d]) (logical shift, r uniform);
 *   open c = x + r (1 round, |x| elements each way) and take
 *   (c >> d) - (r >> d). If x + r does not wrap as integers the result is
 *   floor(x / 2^d) + {0, 1}; it wraps with probability |x| / 2^64, as above.
 */
import type { Context, TruncationMode } from '../src/mpc/context.js';
import { Shared } from '../src/mpc/shared.js';
import { add, neg, shrArith, shrArithCeil, shrLogical, sub } from '../src/ring/index.js';
import { open } from './sharing.js';

export interface TruncateOptions {
  mode?: TruncationMode;
  /** Shares are already fresh uniform re-sharings (e.g. a Beaver output): skip re-randomising. */
  fresh?: boolean;
  /** The caller gives up x: local truncation may overwrite its share. */
  inPlace?: boolean;
}

function checkBits(x: Shared, bits: number): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > 62) throw new RangeError(`truncation by ${bits} bits: must be an integer in [0, 62]`);
  if (bits > x.fracBits) throw new RangeError(`truncation by ${bits} bits of a value with only ${x.fracBits} fractional bits`);
}

/** The SecureML local rule for one holder's share. */
export function truncLocalShare(share: BigUint64Array, holder: 0 | 1, bits: number, out?: BigUint64Array): BigUint64Array {
  return holder === 0 ? shrArith(share, bits, out) : shrArithCeil(share, bits, out);
}

/**
 * Arithmetic shift by `bits` rounding to nearest, ties to even (a new
 * array). Ties are common, not rare: dividing by a power of two (average
 * pooling's 1/4) leaves exact halves, and half-up would bias them.
 */
function shrArithNearestEven(x: BigUint64Array, bits: number): BigUint64Array {
  const out = shrArith(x, bits);
  const mask = (1n << BigInt(bits)) - 1n;
  const half = 1n << BigInt(bits - 1);
  for (let i = 0; i < x.length; i++) {
    const rem = x[i]! & mask;
    if (rem > half || (rem === half && (out[i]! & 1n) === 1n)) out[i] = out[i]! + 1n; // typed-array stores wrap mod 2^64
  }
  return out;
}

/** Truncate by `bits` (default: the context's f). The result has x.fracBits - bits fractional bits. */
export function truncate(ctx: Context, x: Shared, bits = ctx.fracBits, opts: TruncateOptions = {}): Promise<Shared> {
  return ctx.call('truncate', (c) => truncateProtocol(c, x, bits, opts));
}

async function truncateProtocol(c: Context, x: Shared, bits: number, opts: TruncateOptions): Promise<Shared> {
  checkBits(x, bits);
  if (bits === 0) return x;
  const fracBits = x.fracBits - bits;
  if (c.isPlain && c.plainRounding === 'nearest') return x.with(shrArithNearestEven(x.share, bits), fracBits);
  if (c.isPlain || x.size === 0) return x.with(shrArith(x.share, bits), fracBits);
  if (c.isHelper) return Shared.placeholder(x.shape, fracBits);
  const holder = c.holderId;
  const mode = opts.mode ?? c.truncation;
  if (mode === 'local') {
    let share = x.share;
    if (!opts.fresh) {
      const rho = c.common.ring(x.size);
      share = holder === 0 ? add(share, rho, rho) : sub(share, rho, rho);
    }
    return x.with(truncLocalShare(share, holder, bits, opts.inPlace ? share : undefined), fracBits);
  }
  const pair = await c.correlation({ kind: 'trunc', n: x.size, bits });
  const [r] = pair.inputs as [BigUint64Array];
  const opened = await open(c, add(x.share, r));
  return x.with(truncMaskedShare(opened, pair.output, holder, bits), fracBits);
}

/** Dealer-assisted rule for one holder, given the opened c = x + r and its share of r >> d: P0 gets (c >> d) - s0, P1 gets -s1. */
export function truncMaskedShare(c: BigUint64Array, shiftedMaskShare: BigUint64Array, holder: 0 | 1, bits: number): BigUint64Array {
  return holder === 0 ? sub(shrLogical(c, bits), shiftedMaskShare) : neg(shiftedMaskShare);
}
